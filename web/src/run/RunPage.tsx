import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";

import { isEnded } from "../ui/runStatus";
import { useNow } from "../ui/useNow";
import { RunHeader } from "./RunHeader";
import { StepDetails } from "./StepDetails";
import { StepList } from "./StepList";
import { buildTree, visibleRows } from "./tree";
import { useLiveRun } from "./useLiveRun";
import { withStepTotals } from "./totals";
import { timeSpan } from "./waterfall";

export function RunPage() {
  const { runId = "" } = useParams();
  const live = useLiveRun(runId);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [search, setSearch] = useState("");
  const [selectedId, setSelectedId] = useState<string | null>(null);

  const { steps } = live;
  // steps.steps is replaced, never mutated, whenever a step changes: a cheap memo key for
  // everything derived from the steps.
  const anyRunning = useMemo(() => [...steps.steps.values()].some((step) => step.status === "RUNNING"), [steps.steps]);
  const isLive = live.run !== null && (!isEnded(live.run.status) || anyRunning);
  // Running bars and durations grow between events.
  const now = useNow(isLive, 500);
  const tree = useMemo(() => buildTree(steps.steps.values()), [steps.steps]);
  const rows = useMemo(() => visibleRows(tree, collapsed, search), [tree, collapsed, search]);
  const span = useMemo(
    () => timeSpan(steps.steps.values(), live.run?.startedAt ?? null, live.run?.finishedAt ?? null, now),
    [steps.steps, live.run?.startedAt, live.run?.finishedAt, now],
  );
  const selected = selectedId ? steps.steps.get(selectedId) : undefined;
  const header = useMemo(
    () => (live.run ? withStepTotals(live.run, steps.steps.values()) : null),
    [live.run, steps.steps],
  );

  if (live.notFound) {
    return (
      <main className="centered">
        <p>No run {runId} here.</p>
        <Link to="/">Back to runs</Link>
      </main>
    );
  }
  if (!live.run) return <p className="centered muted">{live.error ?? "Loading…"}</p>;

  const toggle = (id: string): void =>
    setCollapsed((current) => {
      const next = new Set(current);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <main className="run-page">
      <RunHeader run={header ?? live.run} now={now} onChange={live.setRun} />
      <div className="run-body">
        <section className="steps-pane" aria-label="Steps">
          <div className="steps-toolbar">
            <input
              type="search"
              placeholder="Search steps (name, type, model, error)"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              aria-label="Search steps"
            />
            <span className="muted" data-testid="step-count">
              {rows.length === tree.length ? "" : `${rows.length} of `}
              {tree.length === 1 ? "1 step" : `${tree.length} steps`}
              {!live.loaded && " (loading…)"}
            </span>
            <button type="button" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button
              type="button"
              onClick={() => setCollapsed(new Set(tree.filter((row) => row.childCount > 0).map((row) => row.step.id)))}
            >
              Collapse all
            </button>
          </div>
          <StepList
            rows={rows}
            span={span}
            now={now}
            collapsed={collapsed}
            selectedId={selectedId}
            onToggle={toggle}
            onSelect={(step) => setSelectedId(step.id)}
          />
        </section>
        {selected ? (
          <StepDetails step={selected} artifactSeq={steps.artifactSeq.get(selected.id) ?? 0} />
        ) : (
          <aside className="step-details muted">Select a step to see its payload.</aside>
        )}
      </div>
    </main>
  );
}
