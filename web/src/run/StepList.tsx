import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef } from "react";

import { formatDuration, formatEnum } from "../ui/format";
import type { StepRow } from "./liveSteps";
import type { TreeRow } from "./tree";
import { placeBar, type Span } from "./waterfall";

const ROW_HEIGHT = 28;
const INDENT_PX = 14;

/**
 * The step tree and the waterfall as one virtualized list: each row is a step's tree cell
 * beside its bar, so both stay aligned and only the rows on screen are in the DOM (a run
 * of 10,000 steps draws a few dozen).
 */
export function StepList(props: {
  rows: readonly TreeRow[];
  span: Span;
  now: number;
  collapsed: ReadonlySet<string>;
  selectedId: string | null;
  onToggle(id: string): void;
  onSelect(step: StepRow): void;
}) {
  const { rows, span, now, collapsed, selectedId } = props;
  const scroller = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- no React Compiler here; its values are read in render only
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    getItemKey: (index) => rows[index]!.step.id,
  });
  const ticks = useMemo(() => axisTicks(span), [span]);

  return (
    <div className="step-list">
      <div className="step-list-head">
        <span className="tree-cell">Step</span>
        <span className="bar-cell axis">
          {ticks.map((tick) => (
            <span key={tick.left} style={{ left: `${tick.left * 100}%` }}>
              {tick.label}
            </span>
          ))}
        </span>
      </div>
      <div className="step-scroller" ref={scroller} data-testid="step-scroller">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const { step, depth, childCount } = rows[item.index]!;
            const bar = placeBar(step, span, now);
            const isCollapsed = collapsed.has(step.id);
            return (
              <div
                key={item.key}
                className={`step-row status-row-${step.status.toLowerCase()}${step.id === selectedId ? " selected" : ""}`}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                data-step-id={step.id}
                data-step-status={step.status}
                onClick={() => props.onSelect(step)}
                role="treeitem"
                aria-level={depth + 1}
                aria-selected={step.id === selectedId}
                aria-expanded={childCount > 0 ? !isCollapsed : undefined}
              >
                <span className="tree-cell" style={{ paddingLeft: depth * INDENT_PX }}>
                  {childCount > 0 ? (
                    <button
                      type="button"
                      className="twisty"
                      aria-label={isCollapsed ? "Expand" : "Collapse"}
                      onClick={(event) => {
                        event.stopPropagation();
                        props.onToggle(step.id);
                      }}
                    >
                      {isCollapsed ? "▸" : "▾"}
                    </button>
                  ) : (
                    <span className="twisty" />
                  )}
                  {step.status === "RUNNING" && <span className="spinner" aria-label="running" />}
                  <span className={`type type-${step.type.toLowerCase()}`}>{formatEnum(step.type)}</span>
                  <span className="step-name">{step.name}</span>
                  {step.status === "FAILED" && <span className="failed-mark">failed</span>}
                </span>
                <span className="bar-cell">
                  <span
                    className={`bar bar-${step.status.toLowerCase()}`}
                    style={{ left: `${bar.left * 100}%`, width: `${bar.width * 100}%` }}
                    title={formatDuration(step.latencyMs)}
                  />
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function axisTicks(span: Span): { left: number; label: string }[] {
  const total = span.endMs - span.startMs;
  return [0, 0.25, 0.5, 0.75].map((left) => ({ left, label: left === 0 ? "0" : formatDuration(total * left) }));
}
