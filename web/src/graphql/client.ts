import { Client, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";

/** The urql client of one signed-in session: queries and mutations over HTTP, subscriptions
 * over graphql-transport-ws on the same `/graphql` path. */
export interface Connection {
  client: Client;
  ws: WsClient;
}

export function connect(key: string | null, origin: string = window.location.origin): Connection {
  const authorization = key ? `Bearer ${key}` : null;
  const ws = createWsClient({
    url: `${origin.replace(/^http/, "ws")}/graphql`,
    // Browsers cannot set headers on a websocket: the server reads the key from here.
    connectionParams: authorization ? { Authorization: authorization } : {},
    lazy: true,
    // No silent re-subscription with stale variables: `resumable()` resubscribes itself,
    // with the seq it last saw (see graphql/resumable.ts).
    retryAttempts: 0,
    keepAlive: 15_000,
  });
  const client = new Client({
    url: "/graphql",
    // Live data comes from subscriptions; a cached page would hide what they fixed.
    requestPolicy: "network-only",
    fetchOptions: (): RequestInit => {
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
      return { headers };
    },
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }),
          };
        },
      }),
    ],
  });
  return { client, ws };
}
