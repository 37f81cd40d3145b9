"""(run id, step id) → the step's direct children in seq order.

Keyed with the run id so that the (run_id, parent_id) index serves the lookup."""

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = tuple[uuid.UUID, uuid.UUID]
Result = list[Step]
MAX_CHILDREN = 1000


def step_children_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(keys: list[Key]) -> list[Result]:
        stmt = scope.first_per(
            caller,
            Step,
            Step.parent_id,
            Step.seq,
            MAX_CHILDREN,
            Step.run_id.in_({run_id for run_id, _ in keys}),
            Step.parent_id.in_({step_id for _, step_id in keys}),
        )
        children: defaultdict[Key, Result] = defaultdict(list)
        async with sessions() as session:
            for step in (await session.scalars(stmt)).all():
                assert step.parent_id is not None
                children[step.run_id, step.parent_id].append(step)
        return [children[key] for key in keys]

    return DataLoader(load_fn=load)
