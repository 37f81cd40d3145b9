import { describe, expect, it } from "vitest";

import { MIN_BAR_WIDTH, placeBar, timeSpan } from "./waterfall";
import { stepRow } from "./testSteps";

const t0 = Date.parse("2026-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(t0 + ms).toISOString();

describe("waterfall placement", () => {
  it("places bars by start and end as fractions of the run's span", () => {
    const step = stepRow("s1", { startedAt: at(250), endedAt: at(750) });
    const span = timeSpan([step], at(0), at(1000), t0 + 5000);
    expect(span).toEqual({ startMs: t0, endMs: t0 + 1000 });
    expect(placeBar(step, span, t0 + 5000)).toEqual({ left: 0.25, width: 0.5, running: false });
  });

  it("draws a running step up to now, widening the span of a running run", () => {
    const step = stepRow("s1", { startedAt: at(500), endedAt: null, status: "RUNNING" });
    const span = timeSpan([step], at(0), null, t0 + 2000);
    expect(span.endMs).toBe(t0 + 2000);
    expect(placeBar(step, span, t0 + 2000)).toEqual({ left: 0.25, width: 0.75, running: true });
  });

  it("gives an instant step a visible tick that stays inside the span", () => {
    const step = stepRow("s1", { startedAt: at(1000), endedAt: at(1000) });
    const bar = placeBar(step, timeSpan([step], at(0), at(1000), t0), t0);
    expect(bar.width).toBe(MIN_BAR_WIDTH);
    expect(bar.left + bar.width).toBeLessThanOrEqual(1);
  });

  it("widens the span to steps recorded outside the run's own times", () => {
    const early = stepRow("s1", { startedAt: at(-500), endedAt: at(1500) });
    expect(timeSpan([early], at(0), at(1000), t0)).toEqual({ startMs: t0 - 500, endMs: t0 + 1500 });
  });
});
