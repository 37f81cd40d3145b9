import { describe, expect, it } from "vitest";

import type { RunRow } from "./liveRuns";
import { appendPage, sortRuns, upsertRun } from "./liveRuns";

function run(id: string, createdAt: string, overrides: Partial<RunRow> = {}): RunRow {
  return {
    id,
    agent: "bot",
    status: "RUNNING",
    userId: null,
    conversationId: null,
    currentNode: null,
    createdAt,
    startedAt: createdAt,
    finishedAt: null,
    durationMs: null,
    stepCount: 0,
    errorCount: 0,
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
    failedNodes: [],
    errorSummary: null,
    ...overrides,
  };
}

const older = run("a", "2026-01-01T00:00:01Z");
const newer = run("b", "2026-01-01T00:00:02Z");

describe("live runs", () => {
  it("puts a new run first and replaces a known run in place", () => {
    const rows = upsertRun([older], newer, false);
    expect(rows.map((row) => row.id)).toEqual(["b", "a"]);
    const done = upsertRun(rows, { ...older, status: "COMPLETED" }, false);
    expect(done.map((row) => [row.id, row.status])).toEqual([["b", "RUNNING"], ["a", "COMPLETED"]]);
  });

  it("leaves a run older than the loaded pages to pagination unless all are loaded", () => {
    expect(upsertRun([newer], older, false)).toEqual([newer]);
    expect(upsertRun([newer], older, true).map((row) => row.id)).toEqual(["b", "a"]);
  });

  it("skips runs of a fetched page that the live stream already added", () => {
    expect(appendPage([newer], [newer, older]).map((row) => row.id)).toEqual(["b", "a"]);
  });

  it("sorts by a column with unknown values last in both directions", () => {
    const fast = run("f", "2026-01-01T00:00:03Z", { durationMs: 10 });
    const slow = run("s", "2026-01-01T00:00:04Z", { durationMs: 90 });
    const rows = [older, fast, slow];
    expect(sortRuns(rows, { key: "durationMs", descending: true }).map((r) => r.id)).toEqual(["s", "f", "a"]);
    expect(sortRuns(rows, { key: "durationMs", descending: false }).map((r) => r.id)).toEqual(["f", "s", "a"]);
  });
});
