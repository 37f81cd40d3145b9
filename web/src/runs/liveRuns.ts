import type { RunRowFragment } from "../gql/graphql";

export type RunRow = RunRowFragment;

/** Newest first, as the server pages them; ids break ties the same way every time. */
function newestFirst(a: RunRow, b: RunRow): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
}

/** Apply one `runUpdates` message: replace the run where it is, or insert a new one in
 * place. Updates of runs older than everything loaded are left to pagination, so a page
 * boundary never gets a hole. */
export function upsertRun(rows: readonly RunRow[], run: RunRow, complete: boolean): RunRow[] {
  const index = rows.findIndex((row) => row.id === run.id);
  if (index >= 0) {
    const next = rows.slice();
    next[index] = run;
    return next;
  }
  const last = rows[rows.length - 1];
  if (!complete && last !== undefined && newestFirst(run, last) > 0) return rows as RunRow[];
  const next = [...rows, run];
  next.sort(newestFirst);
  return next;
}

/** Add a fetched page. A run the live stream already delivered keeps the stream's
 * version: it is at least as new as the page's. */
export function appendPage(rows: readonly RunRow[], page: readonly RunRow[]): RunRow[] {
  const known = new Set(rows.map((row) => row.id));
  const next = [...rows, ...page.filter((row) => !known.has(row.id))];
  next.sort(newestFirst);
  return next;
}

export type SortKey = "createdAt" | "status" | "agent" | "durationMs" | "cost" | "tokens" | "stepCount";
export interface Sort {
  key: SortKey;
  descending: boolean;
}

const sortValue: Record<SortKey, (row: RunRow) => string | number | null> = {
  createdAt: (row) => row.createdAt,
  status: (row) => row.status,
  agent: (row) => row.agent,
  durationMs: (row) => row.durationMs,
  cost: (row) => row.cost,
  tokens: (row) => row.inputTokens + row.outputTokens,
  stepCount: (row) => row.stepCount,
};

/** The loaded rows in the chosen column's order; unknown values (a running run's duration)
 * last either way. */
export function sortRuns(rows: readonly RunRow[], sort: Sort): RunRow[] {
  const value = sortValue[sort.key];
  const sign = sort.descending ? -1 : 1;
  return rows.slice().sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === y) return newestFirst(a, b);
    if (x === null) return 1;
    if (y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}
