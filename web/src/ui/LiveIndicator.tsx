import type { Client } from "graphql-ws";
import { useEffect, useState } from "react";

type SocketState = "idle" | "live" | "reconnecting";

/** Whether live updates flow: a table that stopped updating says so. The socket opens only
 * for pages that subscribe, so "idle" is no fault. */
export function LiveIndicator({ ws }: { ws: Client }) {
  const [state, setState] = useState<SocketState>("idle");
  useEffect(() => {
    const off = [
      ws.on("connected", () => setState("live")),
      // 1000: the client closed it itself, once no page subscribed any more.
      ws.on("closed", (event) =>
        setState((current) => (closeCode(event) === 1000 ? "idle" : current === "live" ? "reconnecting" : current)),
      ),
    ];
    return () => off.forEach((unsubscribe) => unsubscribe());
  }, [ws]);
  return (
    <span className={`live ${state}`} data-testid="live-indicator">
      {state}
    </span>
  );
}

function closeCode(event: unknown): number | null {
  return typeof event === "object" && event !== null && "code" in event && typeof event.code === "number"
    ? event.code
    : null;
}
