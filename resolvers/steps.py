"""Reading steps: a run's steps in `seq` order (optionally of some types or nodes only), one
step by id, and a run's step tree in depth-first order."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.filters import ALL_STEPS, StepSelection, parse_id
from tracewire.resolvers.pagination import Keyset, Page, check_first, page_of, paginate

MAX_STEPS_PER_PAGE = 1000
MAX_TREE_STEPS = 5000
# seq is unique within a run, so the (run_id, seq) unique index serves the page query.
IN_SEQ_ORDER = Keyset(Step.seq, Step.id, unique=True)


async def list_steps(
    context: Context,
    run_id: uuid.UUID,
    *,
    first: int,
    after: str | None,
    selection: StepSelection = ALL_STEPS,
) -> Page[Step]:
    """A page of a run's steps. First pages come through a DataLoader (one query for all the
    runs of a list); later pages, asked for one run at a time, query directly."""
    check_first(first, MAX_STEPS_PER_PAGE)

    async def count() -> int:
        return await context.loaders.step_counts.load((run_id, selection))

    if after is None:
        found = await context.loaders.run_steps.load((run_id, first, selection))
        return page_of(found, IN_SEQ_ORDER, first=first, after=None, count=count)
    stmt = scope.rows(context.caller, Step).where(Step.run_id == run_id, *selection.clauses())
    return await paginate(
        context.sessions, stmt, IN_SEQ_ORDER, first=first, after=after, max_first=first
    )


async def get_step(context: Context, step_id: str) -> Step | None:
    """The step, or None if there is none with that id in the caller's organization."""
    key = parse_id(step_id)
    if key is None:
        return None
    return await context.loaders.steps_by_id.load(key)


@dataclass(frozen=True, slots=True)
class TreeEntry:
    step: Step
    depth: int
    child_count: int


@dataclass(frozen=True, slots=True)
class StepTree:
    entries: list[TreeEntry]
    truncated: bool


async def step_tree(context: Context, run_id: uuid.UUID, *, limit: int) -> StepTree:
    """The run's first `limit` steps (by seq) as a depth-first walk: each step followed by
    its children in seq order. A step whose parent is not among them (not written yet, or
    past the limit) is shown as a root, so nothing recorded is hidden."""
    check_first(limit, MAX_TREE_STEPS)
    stmt = (
        scope.rows(context.caller, Step)
        .where(Step.run_id == run_id)
        .order_by(Step.seq)
        .limit(limit + 1)
    )
    async with context.sessions() as session:
        found = list((await session.scalars(stmt)).all())
    steps = found[:limit]
    return StepTree(entries=_depth_first(steps), truncated=len(found) > limit)


def _depth_first(steps: Sequence[Step]) -> list[TreeEntry]:
    present = {step.id for step in steps}
    children: defaultdict[uuid.UUID | None, list[Step]] = defaultdict(list)
    for step in steps:  # already in seq order, so each child list is too
        parent = step.parent_id if step.parent_id in present else None
        children[parent].append(step)
    entries: list[TreeEntry] = []
    visited: set[uuid.UUID] = set()
    # Roots first; then any step a parent cycle (only malformed ingested data can make one)
    # kept out of reach, so every step is shown exactly once.
    for root in [*children[None], *steps]:
        if root.id in visited:
            continue
        # An explicit stack: a deep chain of nested steps must not hit the recursion limit.
        stack = [(root, 0)]
        while stack:
            step, depth = stack.pop()
            if step.id in visited:
                continue
            visited.add(step.id)
            kids = children.get(step.id, [])
            entries.append(TreeEntry(step, depth, len(kids)))
            stack.extend((kid, depth + 1) for kid in reversed(kids))
    return entries
