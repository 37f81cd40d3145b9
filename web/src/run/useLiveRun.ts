import { useCallback, useEffect, useRef, useState } from "react";
import { useClient, type OperationResult } from "urql";

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
  setRun(run: RunHeaderFragment): void;
}

/**
 * A run and its steps, growing live: the event count first, then `runEventBatches` from
 * that seq (resuming from the last seq seen after a drop), while the snapshot pages load.
 */
export function useLiveRun(runId: string): LiveRun {
  const client = useClient();
  const [run, setRun] = useState<RunHeaderFragment | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [steps, setSteps] = useState<LiveSteps>(emptySteps);
  const [loaded, setLoaded] = useState(false);
  const lastSeq = useRef(0);

  const refreshHeader = useCallback(async (): Promise<number | null> => {
    const result = await client.query(RunEventCountQuery, { id: runId }).toPromise();
    if (result.error) {
      setError(result.error.message);
      return null;
    }
    const fetched = result.data?.run;
    if (!fetched) {
      setNotFound(true);
      return null;
    }
    const { events, ...header } = fetched;
    setRun(header);
    return events.totalCount;
  }, [client, runId]);

  useEffect(() => {
    let stopped = false;
    let stream: { stop(): void } | undefined;
    let headerTimer: ReturnType<typeof setTimeout> | undefined;
    setRun(null);
    setSteps(emptySteps);
    setLoaded(false);
    setNotFound(false);

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
      setSteps(fromSnapshot([], seq));
      stream = resumable(
        client,
        RunEventBatchesSubscription,
        () => ({ runId, afterSeq: lastSeq.current }),
        (data) => {
          const batch = data.runEventBatches;
          lastSeq.current = Math.max(lastSeq.current, batch.lastSeq);
          setSteps((current) => mergeEvents(current, batch.events));
          // The status shows at once; totals follow with the next header read.
          const status = latestStatus(batch.events)?.status;
          if (status) setRun((current) => current && { ...current, status });
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
          setError(page.error?.message ?? "the run's steps could not be read");
          return;
        }
        setSteps((current) => addSnapshotRows(current, connection.nodes));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      setLoaded(true);
    })();

    return () => {
      stopped = true;
      stream?.stop();
      clearTimeout(headerTimer);
    };
  }, [client, runId, refreshHeader]);

  return { run, notFound, error, steps, loaded, setRun };
}
