import { useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";

import { useNow } from "../ui/useNow";
import { filterFromParams, paramsFromFilter, toRunFilter, type RunsFilterState } from "./filters";
import { sortRuns, type Sort } from "./liveRuns";
import { RunsFilters } from "./RunsFilters";
import { RunsTable } from "./RunsTable";
import { useLiveRuns } from "./useLiveRuns";

export function RunsPage() {
  const [params, setParams] = useSearchParams();
  // Keyed by the query string: an equal filter must not resubscribe.
  const paramsKey = params.toString();
  const filterState = useMemo(() => filterFromParams(new URLSearchParams(paramsKey)), [paramsKey]);
  const filter = useMemo(() => toRunFilter(filterState), [filterState]);
  const live = useLiveRuns(filter);
  const [sort, setSort] = useState<Sort>({ key: "createdAt", descending: true });
  const rows = useMemo(() => sortRuns(live.rows, sort), [live.rows, sort]);
  const changeFilter = (patch: Partial<RunsFilterState>): void => {
    // From the URL, not from the last render: the router updates the URL at once but may
    // render later (a transition), and an edit made meanwhile must not undo the one before.
    const current = filterFromParams(new URLSearchParams(window.location.search));
    setParams(paramsFromFilter({ ...current, ...patch }), { replace: true });
  };
  const now = useNow(rows.some((row) => row.durationMs === null && row.startedAt !== null));

  return (
    <main className="runs-page">
      <header className="page-header">
        <h1>Runs</h1>
        <span className="muted" data-testid="run-count">
          {live.totalCount === null ? "" : `${rows.length} of ${live.totalCount}`}
        </span>
        <button
          type="button"
          className={live.paused ? "toggle paused" : "toggle"}
          aria-pressed={live.paused}
          onClick={() => live.setPaused(!live.paused)}
        >
          {live.paused ? `Resume live updates${live.pendingCount ? ` (${live.pendingCount})` : ""}` : "Pause live updates"}
        </button>
      </header>
      <RunsFilters value={filterState} onChange={changeFilter} />
      {live.error && <p className="error" role="alert">{live.error}</p>}
      <RunsTable rows={rows} sort={sort} onSort={setSort} now={now} />
      {!live.loading && rows.length === 0 && <p className="muted centered">No runs match.</p>}
      {live.hasMore && (
        <button type="button" className="load-more" onClick={live.loadMore} disabled={live.loading}>
          {live.loading ? "Loading…" : "Load more"}
        </button>
      )}
    </main>
  );
}
