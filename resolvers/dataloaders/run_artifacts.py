"""Run id → the run's artifacts, oldest first."""

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Artifact
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = uuid.UUID
Result = list[Artifact]


def run_artifacts_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(run_ids: list[Key]) -> list[Result]:
        stmt = (
            scope.rows(caller, Artifact)
            .where(Artifact.run_id.in_(run_ids))
            .order_by(Artifact.created_at, Artifact.id)
        )
        found: defaultdict[Key, Result] = defaultdict(list)
        async with sessions() as session:
            for artifact in (await session.scalars(stmt)).all():
                found[artifact.run_id].append(artifact)
        return [found[run_id] for run_id in run_ids]

    return DataLoader(load_fn=load)
