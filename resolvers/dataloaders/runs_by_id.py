"""Run id → the run, or None when the caller's organization has no such run."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Run
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = uuid.UUID
Result = Run | None


def runs_by_id_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(ids: list[Key]) -> list[Result]:
        async with sessions() as session:
            found = await session.scalars(scope.rows(caller, Run).where(Run.id.in_(ids)))
            by_id = {run.id: run for run in found}
        return [by_id.get(run_id) for run_id in ids]

    return DataLoader(load_fn=load)
