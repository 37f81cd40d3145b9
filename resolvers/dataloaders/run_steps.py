"""(run id, first, selection) → the run's first `first + 1` selected steps in seq order.

One query per distinct (first, selection) in a batch, ranking each run's steps with a window
function, so a page of 50 runs each showing its steps costs one statement, not 50.
"""

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.filters import StepSelection

Key = tuple[uuid.UUID, int, StepSelection]
Result = list[Step]


def run_steps_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(keys: list[Key]) -> list[Result]:
        groups: defaultdict[tuple[int, StepSelection], set[uuid.UUID]] = defaultdict(set)
        for run_id, first, selection in keys:
            groups[first, selection].add(run_id)
        found: dict[Key, Result] = {}
        async with sessions() as session:
            for (first, selection), run_ids in groups.items():
                stmt = scope.first_per(
                    caller,
                    Step,
                    Step.run_id,
                    Step.seq,
                    first + 1,  # one more than asked: it tells whether a next page exists
                    Step.run_id.in_(run_ids),
                    *selection.clauses(),
                )
                by_run: defaultdict[uuid.UUID, Result] = defaultdict(list)
                for step in (await session.scalars(stmt)).all():
                    by_run[step.run_id].append(step)
                for run_id in run_ids:
                    found[run_id, first, selection] = by_run[run_id]
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)
