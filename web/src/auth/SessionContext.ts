import { createContext, useContext } from "react";
import type { Client as WsClient } from "graphql-ws";

export interface Session {
  /** False when the server lets anonymous requests in (no key to sign out of). */
  signedIn: boolean;
  signOut(): Promise<void>;
  /** The websocket client, to show whether live updates flow. */
  ws: WsClient;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error("useSession outside <AuthGate>");
  return session;
}
