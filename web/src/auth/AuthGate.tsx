import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { Provider } from "urql";

import { connect } from "../graphql/client";
import { SessionContext } from "./SessionContext";
import {
  checkKey,
  endSession,
  forgetKey,
  redeemLoginToken,
  storedKey,
  storeKey,
  SignInError,
} from "./session";
import { SignInPage } from "./SignInPage";

type State =
  | { kind: "checking" }
  | { kind: "signedOut"; error: string | null }
  | { kind: "ready"; key: string | null };

/** Renders `children` only once the server accepts this tab's key (or needs none): with auth
 * on, nothing is queried, and so nothing shown, before sign-in. */
export function AuthGate({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ kind: "checking" });

  useEffect(() => {
    let cancelled = false;
    void resolveSession().then((next) => !cancelled && setState(next));
    return () => {
      cancelled = true;
    };
  }, []);

  const signIn = useCallback(async (key: string): Promise<void> => {
    if (!(await checkKey(key))) throw new SignInError("the server does not accept this key");
    storeKey(key);
    setState({ kind: "ready", key });
  }, []);

  const signOut = useCallback(async (): Promise<void> => {
    const key = storedKey();
    forgetKey();
    if (key) await endSession(key);
    setState({ kind: "signedOut", error: null });
  }, []);

  const key = state.kind === "ready" ? state.key : null;
  const ready = state.kind === "ready";
  const connection = useMemo(() => (ready ? connect(key) : null), [ready, key]);
  useEffect(() => () => void connection?.ws.dispose(), [connection]);

  if (state.kind === "checking") return <p className="centered muted">Connecting…</p>;
  if (state.kind === "signedOut" || connection === null) {
    return <SignInPage error={state.kind === "signedOut" ? state.error : null} onSignIn={signIn} />;
  }
  return (
    <SessionContext.Provider value={{ signedIn: key !== null, signOut, ws: connection.ws }}>
      <Provider value={connection.client}>{children}</Provider>
    </SessionContext.Provider>
  );
}

async function resolveSession(): Promise<State> {
  try {
    const url = new URL(window.location.href);
    const token = url.searchParams.get("login");
    if (token) {
      // Out of the address bar (and history) before anything else can read or log it.
      url.searchParams.delete("login");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
      storeKey(await redeemLoginToken(token));
    }
    const key = storedKey();
    if (await checkKey(key)) return { kind: "ready", key };
    forgetKey();
    return { kind: "signedOut", error: key ? "your key is no longer accepted" : null };
  } catch (error) {
    return { kind: "signedOut", error: error instanceof Error ? error.message : String(error) };
  }
}
