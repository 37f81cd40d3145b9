import { useCallback, useEffect, useRef, useState } from "react";
import { useClient } from "urql";

import type { RunFilter } from "../gql/graphql";
import { resumable } from "../graphql/resumable";
import { RunsQuery, RunUpdatesSubscription } from "./documents";
import { appendPage, upsertRun, type RunRow } from "./liveRuns";

const PAGE_SIZE = 50;

export interface LiveRuns {
  rows: RunRow[];
  totalCount: number | null;
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  loadMore(): void;
  paused: boolean;
  setPaused(paused: boolean): void;
  /** Updates held back while paused. */
  pendingCount: number;
}

/**
 * The runs matching `filter`: the first page, then `runUpdates` applied as each arrives
 * (no refetch between an update and the row changing), more pages on demand. While paused,
 * updates are held and applied at once on resume.
 */
export function useLiveRuns(filter: RunFilter): LiveRuns {
  const client = useClient();
  const [rows, setRows] = useState<RunRow[]>([]);
  const [totalCount, setTotalCount] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [paused, setPausedState] = useState(false);
  const [pendingCount, setPendingCount] = useState(0);
  const pending = useRef(new Map<string, RunRow>());
  const pausedRef = useRef(false);
  const completeRef = useRef(false);
  // Ids already counted in totalCount, so an update of a known run does not count again.
  const known = useRef(new Set<string>());
  const filterKey = JSON.stringify(filter);

  // Bumped when the filter changes: a page still in flight for the old one is dropped.
  const generation = useRef(0);

  const fetchPage = useCallback(
    async (after: string | null): Promise<void> => {
      const mine = generation.current;
      setLoading(true);
      const result = await client.query(RunsQuery, { filter, first: PAGE_SIZE, after }).toPromise();
      if (mine !== generation.current) return;
      setLoading(false);
      if (result.error || !result.data) {
        setError(result.error?.message ?? "no data");
        return;
      }
      const { nodes, pageInfo, totalCount: total } = result.data.runs;
      setError(null);
      for (const row of nodes) known.current.add(row.id);
      setRows((current) => appendPage(current, nodes));
      setTotalCount(total);
      setCursor(pageInfo.endCursor);
      setHasMore(pageInfo.hasNextPage);
      completeRef.current = !pageInfo.hasNextPage;
    },
    // filterKey stands for filter: a new object with the same fields must not refetch.
    [client, filterKey],
  );

  useEffect(() => {
    generation.current += 1;
    setRows([]);
    setTotalCount(null);
    pending.current.clear();
    setPendingCount(0);
    completeRef.current = false;
    known.current = new Set();
    const apply = (run: RunRow): void => {
      if (pausedRef.current) {
        pending.current.set(run.id, run);
        setPendingCount(pending.current.size);
        return;
      }
      if (!known.current.has(run.id)) {
        known.current.add(run.id);
        setTotalCount((count) => (count === null ? count : count + 1));
      }
      setRows((current) => upsertRun(current, run, completeRef.current));
    };
    // Subscribe before the first page: an update racing the page is then never lost, and
    // the page never overwrites the newer version the stream already gave.
    const stream = resumable(
      client,
      RunUpdatesSubscription,
      () => ({ filter }),
      (data) => apply(data.runUpdates),
      // runUpdates does not replay: what changed while the socket was down is refetched.
      { onReconnect: () => void fetchPage(null) },
    );
    void fetchPage(null);
    return () => stream.stop();
  }, [client, filterKey, fetchPage]);

  const setPaused = useCallback((next: boolean) => {
    pausedRef.current = next;
    setPausedState(next);
    if (!next && pending.current.size > 0) {
      const held = [...pending.current.values()];
      pending.current.clear();
      setPendingCount(0);
      setRows((current) => held.reduce((rows, run) => upsertRun(rows, run, completeRef.current), current));
    }
  }, []);

  const loadMore = useCallback(() => {
    if (hasMore && !loading) void fetchPage(cursor);
  }, [cursor, fetchPage, hasMore, loading]);

  return { rows, totalCount, hasMore, loading, error, loadMore, paused, setPaused, pendingCount };
}
