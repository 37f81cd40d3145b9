import type { EventKind, RunStatus, StepRowFragment } from "../gql/graphql";
import { RUN_STATUSES } from "../ui/runStatus";

export type StepRow = StepRowFragment;

/** One event of `runEventBatches`, as far as the step list cares. */
export interface StepEvent {
  seq: number;
  kind: EventKind;
  data: unknown;
  step: StepRow | null;
}

/**
 * The steps of a run as the page knows them: a snapshot merged with the live stream.
 *
 * Events can arrive twice (the snapshot and the replay after `afterSeq` overlap; a resumed
 * stream may repeat a batch) and out of order (a snapshot read after an event was
 * committed; batches from two sockets across a reconnect). Merging is therefore
 * idempotent and order-free: each step keeps the version from the highest seq that touched
 * it, and an ended step never goes back to running.
 */
export interface LiveSteps {
  /** Replaced, never mutated, whenever a step changes: React memoises on it. */
  steps: ReadonlyMap<string, StepRow>;
  /** Seq of the event that last updated each step (0 for a snapshot row). */
  stepSeq: ReadonlyMap<string, number>;
  /** Highest event seq applied: pass it as `afterSeq` to resume. */
  lastSeq: number;
  /** Per step, the seq of its newest ARTIFACT_ADDED event: a changed value means the
   * step's artifact list (read with its details) is stale. */
  artifactSeq: ReadonlyMap<string, number>;
  /** The run's status from the newest status event, if any arrived. */
  status: RunStatus | null;
  statusSeq: number;
}

export const emptySteps: LiveSteps = {
  steps: new Map(),
  stepSeq: new Map(),
  artifactSeq: new Map(),
  lastSeq: 0,
  status: null,
  statusSeq: 0,
};

/** A snapshot read after events up to `seq` were committed. */
export function fromSnapshot(rows: readonly StepRow[], seq: number): LiveSteps {
  const steps = new Map<string, StepRow>();
  const stepSeq = new Map<string, number>();
  for (const row of rows) {
    steps.set(row.id, row);
    stepSeq.set(row.id, 0);
  }
  return { ...emptySteps, steps, stepSeq, lastSeq: seq };
}

/** Add snapshot rows (a later page) under whatever the stream already said. */
export function addSnapshotRows(state: LiveSteps, rows: readonly StepRow[]): LiveSteps {
  const steps = new Map(state.steps);
  const stepSeq = new Map(state.stepSeq);
  for (const row of rows) {
    const known = steps.get(row.id);
    steps.set(row.id, known ? newer(known, row) : row);
    if (!stepSeq.has(row.id)) stepSeq.set(row.id, 0);
  }
  return { ...state, steps, stepSeq };
}

export function mergeEvents(state: LiveSteps, events: readonly StepEvent[]): LiveSteps {
  let steps: Map<string, StepRow> | null = null;
  let stepSeq: Map<string, number> | null = null;
  let artifactSeq: Map<string, number> | null = null;
  let { lastSeq, status, statusSeq } = state;
  for (const event of events) {
    lastSeq = Math.max(lastSeq, event.seq);
    if (event.kind === "ARTIFACT_ADDED" && event.step) {
      const seen = (artifactSeq ?? state.artifactSeq).get(event.step.id) ?? 0;
      if (event.seq > seen) {
        artifactSeq ??= new Map(state.artifactSeq);
        artifactSeq.set(event.step.id, event.seq);
      }
    }
    if (event.step) {
      const id = event.step.id;
      const seenSeq = (stepSeq ?? state.stepSeq).get(id);
      // A snapshot row (0) yields to any event; an event only to a later one.
      if (seenSeq !== undefined && seenSeq !== 0 && event.seq <= seenSeq) continue;
      steps ??= new Map(state.steps);
      stepSeq ??= new Map(state.stepSeq);
      const known = steps.get(id);
      steps.set(id, known ? newer(known, event.step) : event.step);
      stepSeq.set(id, Math.max(seenSeq ?? 0, event.seq));
    }
  }
  const latest = latestStatus(events);
  if (latest && latest.seq > statusSeq) {
    status = latest.status;
    statusSeq = latest.seq;
  }
  if (steps === null && artifactSeq === null && lastSeq === state.lastSeq && status === state.status) {
    return state;
  }
  return {
    steps: steps ?? state.steps,
    stepSeq: stepSeq ?? state.stepSeq,
    artifactSeq: artifactSeq ?? state.artifactSeq,
    lastSeq,
    status,
    statusSeq,
  };
}

/** `incoming`, unless it would move an ended step back to running: a step only ends once,
 * so a running version is always the older one, whatever order it arrived in. */
function newer(known: StepRow, incoming: StepRow): StepRow {
  if (known.status !== "RUNNING" && incoming.status === "RUNNING") return known;
  return incoming;
}

/** The run status of the newest RUN_STATUS_CHANGED event among `events`, if any. */
export function latestStatus(events: readonly StepEvent[]): { status: RunStatus; seq: number } | null {
  let latest: { status: RunStatus; seq: number } | null = null;
  for (const event of events) {
    if (event.kind !== "RUN_STATUS_CHANGED" || (latest && event.seq <= latest.seq)) continue;
    const status = statusOf(event.data);
    if (status) latest = { status, seq: event.seq };
  }
  return latest;
}

function statusOf(data: unknown): RunStatus | null {
  if (typeof data !== "object" || data === null || !("status" in data)) return null;
  const raw = String(data.status).toUpperCase();
  return RUN_STATUSES.find((status) => status === raw) ?? null;
}
