import type { RunHeaderFragment } from "../gql/graphql";
import type { StepRow } from "./liveSteps";

/**
 * The header's totals, never behind the steps on screen: the server's totals arrive with
 * the next header read, the steps with each event, so each total shows whichever is ahead.
 * (Totals only grow, so the larger one is the newer.)
 */
export function withStepTotals(run: RunHeaderFragment, steps: Iterable<StepRow>): RunHeaderFragment {
  let stepCount = 0;
  let errorCount = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let cost = 0;
  for (const step of steps) {
    stepCount += 1;
    if (step.status === "FAILED") errorCount += 1;
    inputTokens += step.inputTokens ?? 0;
    outputTokens += step.outputTokens ?? 0;
    cost += step.cost ?? 0;
  }
  return {
    ...run,
    stepCount: Math.max(run.stepCount, stepCount),
    errorCount: Math.max(run.errorCount, errorCount),
    inputTokens: Math.max(run.inputTokens, inputTokens),
    outputTokens: Math.max(run.outputTokens, outputTokens),
    cost: Math.max(run.cost, cost),
  };
}
