import { describe, expect, it } from "vitest";

import type { RunHeaderFragment } from "../gql/graphql";
import { stepRow } from "./testSteps";
import { withStepTotals } from "./totals";

const header: RunHeaderFragment = {
  id: "r1",
  agent: "bot",
  status: "RUNNING",
  userId: null,
  conversationId: null,
  tags: [],
  currentNode: null,
  createdAt: "2026-01-01T00:00:00Z",
  startedAt: "2026-01-01T00:00:00Z",
  finishedAt: null,
  durationMs: null,
  stepCount: 1,
  errorCount: 0,
  inputTokens: 0,
  outputTokens: 0,
  cost: 0.5,
  errorSummary: null,
  externalTraceUrl: null,
};

describe("withStepTotals", () => {
  it("shows the steps' totals when they are ahead of the last header read", () => {
    const steps = [
      stepRow("s1", { inputTokens: 100, outputTokens: 10, cost: 0.1 }),
      stepRow("s2", { status: "FAILED" }),
    ];
    expect(withStepTotals(header, steps)).toMatchObject({
      stepCount: 2,
      errorCount: 1,
      inputTokens: 100,
      outputTokens: 10,
      cost: 0.5,
    });
  });
});
