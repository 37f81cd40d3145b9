import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useLayoutEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router-dom";

import { elapsedMs, formatCost, formatCount, formatDuration, formatTime } from "../ui/format";
import { isEnded } from "../ui/runStatus";
import { StatusBadge } from "../ui/StatusBadge";
import type { RunRow, Sort, SortKey } from "./liveRuns";

const ROW_HEIGHT = 33;

const COLUMNS: readonly { label: string; sort?: SortKey; numeric?: boolean }[] = [
  { label: "Status", sort: "status" },
  { label: "Agent", sort: "agent" },
  { label: "Created", sort: "createdAt" },
  { label: "Duration", sort: "durationMs", numeric: true },
  { label: "Steps", sort: "stepCount", numeric: true },
  { label: "Tokens", sort: "tokens", numeric: true },
  { label: "Cost", sort: "cost", numeric: true },
  { label: "Failed nodes" },
  { label: "Error" },
  { label: "User" },
  { label: "Conversation" },
];

export function RunsTable(props: { rows: readonly RunRow[]; sort: Sort; onSort: (sort: Sort) => void; now: number }) {
  const { rows, sort, onSort, now } = props;
  const navigate = useNavigate();
  // A live table only grows (a busy agent adds thousands of runs an hour): only the rows
  // on screen are in the DOM, with spacer rows standing in for the others.
  const body = useRef<HTMLTableSectionElement>(null);
  // Where the body starts on the page: measured before the first paint, and again whenever
  // the page's size changes (the filters or an error above the table move it).
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    const measure = (): void => setScrollMargin(body.current?.offsetTop ?? 0);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(document.documentElement);
    return () => observer.disconnect();
  }, []);
  const virtualizer = useWindowVirtualizer({
    count: rows.length,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    scrollMargin,
    getItemKey: (index) => rows[index]!.id,
  });
  const items = virtualizer.getVirtualItems();
  const margin = virtualizer.options.scrollMargin;
  const above = items.length > 0 ? items[0]!.start - margin : 0;
  const below = items.length > 0 ? virtualizer.getTotalSize() - (items[items.length - 1]!.end - margin) : 0;
  return (
    <table className="runs-table">
      <thead>
        <tr>
          {COLUMNS.map((column) => (
            <th
              key={column.label}
              className={column.numeric ? "numeric" : undefined}
              aria-sort={sort.key === column.sort ? (sort.descending ? "descending" : "ascending") : undefined}
            >
              {column.sort ? (
                <button
                  type="button"
                  className="sort"
                  onClick={() =>
                    onSort({
                      key: column.sort!,
                      descending: sort.key === column.sort ? !sort.descending : true,
                    })
                  }
                >
                  {column.label}
                  {sort.key === column.sort ? (sort.descending ? " ▼" : " ▲") : ""}
                </button>
              ) : (
                column.label
              )}
            </th>
          ))}
        </tr>
      </thead>
      <tbody ref={body}>
        {above > 0 && <tr className="spacer" style={{ height: above }} aria-hidden />}
        {items.map((item) => (
          <RunsTableRow key={item.key} run={rows[item.index]!} now={now} onOpen={(id) => void navigate(`/runs/${id}`)} />
        ))}
        {below > 0 && <tr className="spacer" style={{ height: below }} aria-hidden />}
      </tbody>
    </table>
  );
}

function RunsTableRow({ run, now, onOpen }: { run: RunRow; now: number; onOpen: (id: string) => void }) {
  const ended = isEnded(run.status);
  return (
    <tr data-run-id={run.id} style={{ height: ROW_HEIGHT }} onClick={() => onOpen(run.id)}>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td>
        <Link to={`/runs/${run.id}`} onClick={(event) => event.stopPropagation()}>
          {run.agent}
        </Link>
        {run.currentNode && !ended && <span className="muted"> · {run.currentNode}</span>}
      </td>
      <td>{formatTime(run.createdAt)}</td>
      <td className="numeric">{formatDuration(run.durationMs ?? (ended ? null : elapsedMs(run.startedAt, null, now)))}</td>
      <td className="numeric">
        {formatCount(run.stepCount)}
        {run.errorCount > 0 && <span className="error-count"> ({run.errorCount} failed)</span>}
      </td>
      <td className="numeric">{formatCount(run.inputTokens + run.outputTokens)}</td>
      <td className="numeric">{formatCost(run.cost)}</td>
      <td>{run.failedNodes.join(", ")}</td>
      <td className="error-summary" title={run.errorSummary ?? undefined}>
        {run.errorSummary}
      </td>
      <td>{run.userId}</td>
      <td>{run.conversationId}</td>
    </tr>
  );
}
