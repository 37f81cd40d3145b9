import type { AnyVariables, Client, TypedDocumentNode } from "urql";

/** Backoff between resubscriptions after the socket dropped: quick first, then capped. */
export function retryDelayMs(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 10_000);
}

export interface Resumable {
  stop(): void;
}

/**
 * A subscription that survives dropped sockets and server restarts: each time the stream
 * ends with an error it subscribes again with `variables()` read anew, so a stream that
 * resumes by position (`afterSeq`) asks only for what it has not seen. `onReconnect` runs
 * before each resubscription (e.g. to refetch what a non-resumable stream missed).
 */
export function resumable<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: () => Variables,
  onData: (data: Data) => void,
  options: { onReconnect?: () => void } = {},
): Resumable {
  let stopped = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: { unsubscribe(): void } | undefined;

  const start = (): void => {
    current = client.subscription(document, variables()).subscribe((result) => {
      if (stopped) return;
      if (result.error) {
        current?.unsubscribe();
        timer = setTimeout(() => {
          if (stopped) return;
          options.onReconnect?.();
          start();
        }, retryDelayMs(attempt++));
        return;
      }
      if (result.data) {
        attempt = 0;
        onData(result.data);
      }
    });
  };
  start();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      current?.unsubscribe();
    },
  };
}
