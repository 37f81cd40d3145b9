import type { StepRow } from "./liveSteps";

/** A step placed in its run's tree. */
export interface TreeRow {
  step: StepRow;
  depth: number;
  childCount: number;
}

/**
 * The run's steps depth-first, children in seq order. A step whose parent is unknown (not
 * loaded yet, or outside the page) shows at the top level rather than disappearing.
 */
export function buildTree(steps: Iterable<StepRow>): TreeRow[] {
  const all = [...steps];
  const ids = new Set(all.map((step) => step.id));
  const children = new Map<string | null, StepRow[]>();
  for (const step of all) {
    const parent = step.parentId !== null && ids.has(step.parentId) ? step.parentId : null;
    const siblings = children.get(parent);
    if (siblings) siblings.push(step);
    else children.set(parent, [step]);
  }
  for (const siblings of children.values()) siblings.sort((a, b) => a.seq - b.seq);

  const rows: TreeRow[] = [];
  // Iterative: a 10,000-deep chain of nested steps must not overflow the call stack.
  const stack: { step: StepRow; depth: number }[] = [];
  const roots = children.get(null) ?? [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ step: roots[i]!, depth: 0 });
  while (stack.length > 0) {
    const { step, depth } = stack.pop()!;
    const kids = children.get(step.id) ?? [];
    rows.push({ step, depth, childCount: kids.length });
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ step: kids[i]!, depth: depth + 1 });
  }
  return rows;
}

/**
 * The rows to draw: descendants of collapsed steps hidden; with a search, only matching
 * steps and their ancestors (so a match is seen in place), ignoring collapse.
 */
export function visibleRows(rows: readonly TreeRow[], collapsed: ReadonlySet<string>, search: string): TreeRow[] {
  const needle = search.trim().toLowerCase();
  if (needle) return withAncestors(rows, (row) => matches(row.step, needle));
  const visible: TreeRow[] = [];
  let hideBelow: number | null = null;
  for (const row of rows) {
    if (hideBelow !== null) {
      if (row.depth > hideBelow) continue;
      hideBelow = null;
    }
    visible.push(row);
    if (collapsed.has(row.step.id) && row.childCount > 0) hideBelow = row.depth;
  }
  return visible;
}

function matches(step: StepRow, needle: string): boolean {
  return [step.name, step.type, step.model, step.errorMessage].some(
    (text) => text != null && text.toLowerCase().includes(needle),
  );
}

function withAncestors(rows: readonly TreeRow[], hit: (row: TreeRow) => boolean): TreeRow[] {
  const keep = new Array<boolean>(rows.length).fill(false);
  // The nearest open ancestor at each depth, so each hit marks its chain once.
  const path: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    path.length = row.depth;
    path.push(i);
    if (hit(row)) {
      for (let d = path.length - 1; d >= 0 && !keep[path[d]!]; d--) keep[path[d]!] = true;
    }
  }
  return rows.filter((_, i) => keep[i]);
}
