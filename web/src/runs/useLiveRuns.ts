import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useClient, type Client } from "urql";

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
  loadMore: () => void;
  paused: boolean;
  setPaused: (paused: boolean) => void;
  /** Updates held back while paused. */
  pendingCount: number;
}

/** The list for one filter, tagged with the client and filter it is read for: a render for
 * another filter starts from `emptyList` (no rows, loading) instead of an effect clearing it. */
interface RunList {
  client: Client;
  filter: RunFilter;
  rows: RunRow[];
  totalCount: number | null;
  pendingCount: number;
  loading: boolean;
}

function emptyList(client: Client, filter: RunFilter): RunList {
  return { client, filter, rows: [], totalCount: null, pendingCount: 0, loading: true };
}

function isFor(list: RunList, client: Client, filter: RunFilter): boolean {
  return list.client === client && list.filter === filter;
}

function startLoading(list: RunList): RunList {
  return list.loading ? list : { ...list, loading: true };
}

/**
 * The runs matching `filter`: the first page, then `runUpdates` applied as each arrives
 * (no refetch between an update and the row changing), more pages on demand. While paused,
 * updates are held and applied at once on resume.
 */
export function useLiveRuns(filter: RunFilter): LiveRuns {
  const client = useClient();
  // filterKey stands for filter: a new object with the same fields must not refetch, so
  // everything below uses this copy of it, which changes only with the key.
  const filterKey = JSON.stringify(filter);
  const sameFilter = useMemo(() => JSON.parse(filterKey) as RunFilter, [filterKey]);
  const [stored, setStored] = useState(() => emptyList(client, sameFilter));
  const { rows, totalCount, pendingCount, loading } = isFor(stored, client, sameFilter)
    ? stored
    : emptyList(client, sameFilter);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [paused, setPausedState] = useState(false);
  const pending = useRef(new Map<string, RunRow>());
  const pausedRef = useRef(false);
  const completeRef = useRef(false);
  // Ids already counted in totalCount, so an update of a known run does not count again.
  const known = useRef(new Set<string>());
  // Reads a page for the current filter (set by the effect, which owns the subscription).
  const fetchPageRef = useRef<(after: string | null) => void>(() => {});

  /** Change this filter's list; the first change after the filter changed starts afresh. */
  const update = useCallback(
    (change: (current: RunList) => RunList) =>
      setStored((current) => change(isFor(current, client, sameFilter) ? current : emptyList(client, sameFilter))),
    [client, sameFilter],
  );

  useEffect(() => {
    // Set on cleanup: a page still in flight for the old filter is dropped.
    let stopped = false;
    pending.current.clear();
    completeRef.current = false;
    known.current = new Set();

    const fetchPage = async (after: string | null): Promise<void> => {
      const result = await client.query(RunsQuery, { filter: sameFilter, first: PAGE_SIZE, after }).toPromise();
      if (stopped) return;
      if (result.error || !result.data) {
        update((current) => ({ ...current, loading: false }));
        setError(result.error?.message ?? "no data");
        return;
      }
      const { nodes, pageInfo, totalCount: total } = result.data.runs;
      setError(null);
      for (const row of nodes) known.current.add(row.id);
      update((current) => ({ ...current, loading: false, rows: appendPage(current.rows, nodes), totalCount: total }));
      setCursor(pageInfo.endCursor);
      setHasMore(pageInfo.hasNextPage);
      completeRef.current = !pageInfo.hasNextPage;
    };
    fetchPageRef.current = (after) => void fetchPage(after);

    const apply = (run: RunRow): void => {
      if (pausedRef.current) {
        pending.current.set(run.id, run);
        const held = pending.current.size;
        update((current) => (current.pendingCount === held ? current : { ...current, pendingCount: held }));
        return;
      }
      const isNew = !known.current.has(run.id);
      if (isNew) known.current.add(run.id);
      update((current) => {
        const next = upsertRun(current.rows, run, completeRef.current);
        const count = isNew && current.totalCount !== null ? current.totalCount + 1 : current.totalCount;
        return next === current.rows && count === current.totalCount ? current : { ...current, rows: next, totalCount: count };
      });
    };
    // Subscribe before the first page: an update racing the page is then never lost, and
    // the page never overwrites the newer version the stream already gave.
    const stream = resumable(
      client,
      RunUpdatesSubscription,
      () => ({ filter: sameFilter }),
      (data) => apply(data.runUpdates),
      // runUpdates does not replay: what changed while the socket was down is refetched.
      {
        onReconnect: () => {
          update(startLoading);
          void fetchPage(null);
        },
      },
    );
    // The new filter's list already reads as loading.
    void fetchPage(null);
    return () => {
      stopped = true;
      stream.stop();
    };
  }, [client, sameFilter, update]);

  const setPaused = useCallback(
    (next: boolean) => {
      pausedRef.current = next;
      setPausedState(next);
      if (!next && pending.current.size > 0) {
        const held = [...pending.current.values()];
        pending.current.clear();
        update((current) => ({
          ...current,
          pendingCount: 0,
          rows: held.reduce((list, run) => upsertRun(list, run, completeRef.current), current.rows),
        }));
      }
    },
    [update],
  );

  const loadMore = useCallback(() => {
    if (!hasMore || loading) return;
    update(startLoading);
    fetchPageRef.current(cursor);
  }, [cursor, hasMore, loading, update]);

  return { rows, totalCount, hasMore, loading, error, loadMore, paused, setPaused, pendingCount };
}
