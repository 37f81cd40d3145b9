"""Run id → the run's first failed step (by seq), or None: the error a summary shows."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.enums import StepStatus
from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = uuid.UUID
Result = Step | None


def first_failures_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(run_ids: list[Key]) -> list[Result]:
        stmt = scope.first_per(
            caller,
            Step,
            Step.run_id,
            Step.seq,
            1,
            Step.run_id.in_(run_ids),
            Step.status == StepStatus.FAILED.value,
        )
        async with sessions() as session:
            found = {step.run_id: step for step in (await session.scalars(stmt)).all()}
        return [found.get(run_id) for run_id in run_ids]

    return DataLoader(load_fn=load)
