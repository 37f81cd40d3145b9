import { describe, expect, it } from "vitest";

import { addSnapshotRows, emptySteps, fromSnapshot, mergeEvents, type StepEvent } from "./liveSteps";
import { stepRow } from "./testSteps";

const running = stepRow("s1", { status: "RUNNING", endedAt: null, latencyMs: null });
const finished = stepRow("s1", { status: "FAILED", errorMessage: "boom" });

function started(seq: number, step = running): StepEvent {
  return { seq, kind: "STEP_STARTED", data: {}, step };
}
function ended(seq: number, step = finished): StepEvent {
  return { seq, kind: "STEP_FINISHED", data: { status: step.status.toLowerCase() }, step };
}

describe("mergeEvents", () => {
  it("adds a started step and then replaces it with its ended version", () => {
    let state = mergeEvents(emptySteps, [started(1)]);
    expect(state.steps.get("s1")?.status).toBe("RUNNING");
    state = mergeEvents(state, [ended(2)]);
    expect(state.steps.get("s1")).toEqual(finished);
    expect(state.lastSeq).toBe(2);
  });

  it("keeps the ended step when its start event arrives after its end event", () => {
    const state = mergeEvents(emptySteps, [ended(2), started(1)]);
    expect(state.steps.get("s1")?.status).toBe("FAILED");
    expect(state.lastSeq).toBe(2);
  });

  it("ignores a duplicate event and returns the same state object", () => {
    const once = mergeEvents(emptySteps, [started(1), ended(2)]);
    const twice = mergeEvents(once, [started(1), ended(2)]);
    expect(twice).toBe(once);
  });

  it("lets a replayed event update a snapshot row but never reopen an ended one", () => {
    const snapshot = fromSnapshot([finished], 1);
    const state = mergeEvents(snapshot, [started(2)]);
    expect(state.steps.get("s1")?.status).toBe("FAILED");
    const fresh = mergeEvents(fromSnapshot([running], 1), [ended(3)]);
    expect(fresh.steps.get("s1")?.status).toBe("FAILED");
  });

  it("takes the run status from the newest status event, whatever the arrival order", () => {
    const state = mergeEvents(emptySteps, [
      { seq: 5, kind: "RUN_STATUS_CHANGED", data: { status: "completed" }, step: null },
      { seq: 3, kind: "RUN_STATUS_CHANGED", data: { status: "needs_review" }, step: null },
    ]);
    expect(state.status).toBe("COMPLETED");
    expect(state.lastSeq).toBe(5);
  });

  it("does not let a later snapshot page overwrite what the stream said", () => {
    const state = mergeEvents(fromSnapshot([], 0), [ended(4)]);
    const paged = addSnapshotRows(state, [running, stepRow("s2")]);
    expect(paged.steps.get("s1")?.status).toBe("FAILED");
    expect(paged.steps.has("s2")).toBe(true);
  });

  it("notes each step's newest artifact event once, so its file list is re-read", () => {
    const added = (seq: number): StepEvent => ({ seq, kind: "ARTIFACT_ADDED", data: {}, step: finished });
    const state = mergeEvents(emptySteps, [ended(2), added(4), added(3)]);
    expect(state.artifactSeq.get("s1")).toBe(4);
    expect(mergeEvents(state, [added(4)])).toBe(state);
  });
});
