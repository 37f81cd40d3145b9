import { useCallback, useEffect, useRef, useState } from "react";
import { useClient, type Client, type OperationResult } from "urql";

import type { RunHeaderFragment, RunStepsPageQuery as RunStepsPage } from "../gql/graphql";
import { resumable } from "../graphql/resumable";
import { RunEventBatchesSubscription, RunEventCountQuery, RunStepsPageQuery } from "./documents";
import { addSnapshotRows, emptySteps, fromSnapshot, latestStatus, mergeEvents, type LiveSteps } from "./liveSteps";

/** How often the header's totals are re-read while events flow; the steps and the status
 * themselves change the moment their event arrives. */
const HEADER_REFRESH_MS = 1000;

export interface LiveRun {
  run: RunHeaderFragment | null;
  notFound: boolean;
  error: string | null;
  steps: LiveSteps;
  /** Every snapshot page is in. */
  loaded: boolean;
  setRun: (run: RunHeaderFragment) => void;
}

/** What is known of one run, tagged with the client and run id it was read for: a render
 * for another run starts from `initialState` instead of an effect resetting it. */
interface RunState {
  client: Client;
  runId: string;
  run: RunHeaderFragment | null;
  notFound: boolean;
  error: string | null;
  steps: LiveSteps;
  loaded: boolean;
}

function initialState(client: Client, runId: string): RunState {
  return { client, runId, run: null, notFound: false, error: null, steps: emptySteps, loaded: false };
}

function isFor(state: RunState, client: Client, runId: string): boolean {
  return state.client === client && state.runId === runId;
}

/**
 * A run and its steps, growing live: the event count first, then `runEventBatches` from
 * that seq (resuming from the last seq seen after a drop), while the snapshot pages load.
 */
export function useLiveRun(runId: string): LiveRun {
  const client = useClient();
  const [stored, setStored] = useState(() => initialState(client, runId));
  const state = isFor(stored, client, runId) ? stored : initialState(client, runId);
  const lastSeq = useRef(0);

  useEffect(() => {
    let stopped = false;
    let stream: { stop(): void } | undefined;
    let headerTimer: ReturnType<typeof setTimeout> | undefined;

    // Every change is to this run's state (the first one replaces a previous run's), and
    // none lands once the effect is cleaned up.
    const update = (change: (current: RunState) => RunState): void => {
      if (stopped) return;
      setStored((current) => change(isFor(current, client, runId) ? current : initialState(client, runId)));
    };

    const refreshHeader = async (): Promise<number | null> => {
      const result = await client.query(RunEventCountQuery, { id: runId }).toPromise();
      if (result.error) {
        const error = result.error.message;
        update((current) => ({ ...current, error }));
        return null;
      }
      const fetched = result.data?.run;
      if (!fetched) {
        update((current) => ({ ...current, notFound: true }));
        return null;
      }
      const { events, ...header } = fetched;
      update((current) => ({ ...current, run: header }));
      return events.totalCount;
    };

    const scheduleHeader = (): void => {
      if (headerTimer !== undefined) return;
      headerTimer = setTimeout(() => {
        headerTimer = undefined;
        if (!stopped) void refreshHeader();
      }, HEADER_REFRESH_MS);
    };

    void (async () => {
      const seq = await refreshHeader();
      if (seq === null || stopped) return;
      lastSeq.current = seq;
      update((current) => ({ ...current, steps: fromSnapshot([], seq) }));
      stream = resumable(
        client,
        RunEventBatchesSubscription,
        () => ({ runId, afterSeq: lastSeq.current }),
        (data) => {
          const batch = data.runEventBatches;
          lastSeq.current = Math.max(lastSeq.current, batch.lastSeq);
          // The status shows at once; totals follow with the next header read.
          const status = latestStatus(batch.events)?.status;
          update((current) => {
            const steps = mergeEvents(current.steps, batch.events);
            const run = status && current.run ? { ...current.run, status } : current.run;
            return steps === current.steps && run === current.run ? current : { ...current, steps, run };
          });
          scheduleHeader();
        },
      );
      let after: string | null = null;
      for (;;) {
        const page: OperationResult<RunStepsPage> = await client
          .query(RunStepsPageQuery, { id: runId, after })
          .toPromise();
        if (stopped) return;
        const connection = page.data?.run?.steps;
        if (!connection) {
          const error = page.error?.message ?? "the run's steps could not be read";
          update((current) => ({ ...current, error }));
          return;
        }
        update((current) => ({ ...current, steps: addSnapshotRows(current.steps, connection.nodes) }));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      update((current) => ({ ...current, loaded: true }));
    })();

    return () => {
      stopped = true;
      stream?.stop();
      clearTimeout(headerTimer);
    };
  }, [client, runId]);

  // A review's answer for this run (a late one for another run is dropped).
  const setRun = useCallback(
    (run: RunHeaderFragment) =>
      setStored((current) => (isFor(current, client, runId) ? { ...current, run } : current)),
    [client, runId],
  );

  const { run, notFound, error, steps, loaded } = state;
  return { run, notFound, error, steps, loaded, setRun };
}
