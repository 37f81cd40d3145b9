import { describe, expect, it } from "vitest";

import { buildTree, visibleRows } from "./tree";
import { stepRow } from "./testSteps";

const steps = [
  stepRow("s4", { parentId: "s1", seq: 4, name: "search tool" }),
  stepRow("s1", { seq: 1, name: "plan", type: "NODE" }),
  stepRow("s2", { parentId: "s1", seq: 2, name: "gpt call", type: "LLM_CALL" }),
  stepRow("s3", { parentId: "s2", seq: 3, name: "retry", errorMessage: "Rate limited" }),
  stepRow("s5", { seq: 5, name: "answer", type: "NODE" }),
];

const ids = (rows: { step: { id: string } }[]) => rows.map((row) => row.step.id);

describe("buildTree", () => {
  it("orders steps depth-first with children in seq order, whatever the input order", () => {
    const rows = buildTree(steps);
    expect(ids(rows)).toEqual(["s1", "s2", "s3", "s4", "s5"]);
    expect(rows.map((row) => row.depth)).toEqual([0, 1, 2, 1, 0]);
    expect(rows.map((row) => row.childCount)).toEqual([2, 1, 0, 0, 0]);
  });

  it("shows a step whose parent is not loaded at the top level", () => {
    const rows = buildTree([stepRow("s9", { parentId: "missing", seq: 9 })]);
    expect(rows).toEqual([expect.objectContaining({ depth: 0 })]);
  });

  it("handles a chain deeper than the call stack would allow recursion for", () => {
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      stepRow(`c${i + 1}`, { seq: i + 1, parentId: i === 0 ? null : `c${i}` }),
    );
    const rows = buildTree(chain);
    expect(rows).toHaveLength(20_000);
    expect(rows[19_999]?.depth).toBe(19_999);
  });
});

describe("visibleRows", () => {
  const rows = buildTree(steps);

  it("hides the descendants of a collapsed step but not its siblings", () => {
    expect(ids(visibleRows(rows, new Set(["s1"]), ""))).toEqual(["s1", "s5"]);
    expect(ids(visibleRows(rows, new Set(["s2"]), ""))).toEqual(["s1", "s2", "s4", "s5"]);
  });

  it("keeps matching steps with their ancestors when searching, ignoring collapse", () => {
    expect(ids(visibleRows(rows, new Set(["s1"]), "rate LIMITED"))).toEqual(["s1", "s2", "s3"]);
    expect(ids(visibleRows(rows, new Set(), "answer"))).toEqual(["s5"]);
  });
});
