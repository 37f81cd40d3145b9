"""Step id → the step, or None when the caller's organization has no such step."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = uuid.UUID
Result = Step | None


def steps_by_id_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(ids: list[Key]) -> list[Result]:
        async with sessions() as session:
            found = await session.scalars(scope.rows(caller, Step).where(Step.id.in_(ids)))
            by_id = {step.id: step for step in found}
        return [by_id.get(step_id) for step_id in ids]

    return DataLoader(load_fn=load)
