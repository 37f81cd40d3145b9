import type { StepRow } from "./liveSteps";

/** The time span the waterfall draws: the run's, widened to every step seen. */
export interface Span {
  startMs: number;
  endMs: number;
}

/** Where a step's bar goes, as fractions (0..1) of the span's width. */
export interface Bar {
  left: number;
  width: number;
  running: boolean;
}

/** Bars narrower than this would vanish; instant steps get a visible tick. */
export const MIN_BAR_WIDTH = 0.004;

export function timeSpan(steps: Iterable<StepRow>, runStart: string | null, runEnd: string | null, now: number): Span {
  let startMs = runStart ? Date.parse(runStart) : Number.POSITIVE_INFINITY;
  let endMs = runEnd ? Date.parse(runEnd) : now;
  for (const step of steps) {
    startMs = Math.min(startMs, Date.parse(step.startedAt));
    endMs = Math.max(endMs, step.endedAt ? Date.parse(step.endedAt) : now);
  }
  if (!Number.isFinite(startMs)) startMs = now;
  return { startMs, endMs: Math.max(endMs, startMs + 1) };
}

/** A running step's bar reaches `now`: it grows while the page watches. */
export function placeBar(step: StepRow, span: Span, now: number): Bar {
  const total = span.endMs - span.startMs;
  const start = Date.parse(step.startedAt);
  const running = step.status === "RUNNING";
  const end = step.endedAt ? Date.parse(step.endedAt) : running ? now : start;
  const left = clamp((start - span.startMs) / total, 0, 1 - MIN_BAR_WIDTH);
  const width = clamp((end - start) / total, MIN_BAR_WIDTH, 1 - left);
  return { left, width, running };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}
