"""Step id → the artifacts the step produced, oldest first."""

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Artifact
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = uuid.UUID
Result = list[Artifact]


def step_artifacts_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(step_ids: list[Key]) -> list[Result]:
        stmt = (
            scope.rows(caller, Artifact)
            .where(Artifact.step_id.in_(step_ids))
            .order_by(Artifact.created_at, Artifact.id)
        )
        found: defaultdict[Key, Result] = defaultdict(list)
        async with sessions() as session:
            for artifact in (await session.scalars(stmt)).all():
                assert artifact.step_id is not None
                found[artifact.step_id].append(artifact)
        return [found[step_id] for step_id in step_ids]

    return DataLoader(load_fn=load)
