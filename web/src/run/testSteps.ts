import type { StepRow } from "./liveSteps";

/** A step row for unit tests: only what a test says differs from a finished info step. */
export function stepRow(id: string, overrides: Partial<StepRow> = {}): StepRow {
  return {
    id,
    parentId: null,
    seq: Number(id.replace(/\D/g, "")) || 1,
    name: `step ${id}`,
    type: "INFO",
    status: "COMPLETED",
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T00:00:01.000Z",
    latencyMs: 1000,
    model: null,
    inputTokens: null,
    outputTokens: null,
    cost: null,
    errorMessage: null,
    ...overrides,
  };
}
