"""Run id → names of its failed `node` steps, distinct, in the order they first failed."""

import uuid
from collections import defaultdict

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.enums import StepStatus, StepType
from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller

Key = uuid.UUID
Result = list[str]


def failed_nodes_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(run_ids: list[Key]) -> list[Result]:
        first_failure = func.min(Step.seq)
        stmt = (
            scope.columns(caller, Step, Step.run_id, Step.name)
            .where(
                Step.run_id.in_(run_ids),
                Step.type == StepType.NODE.value,
                Step.status == StepStatus.FAILED.value,
            )
            .group_by(Step.run_id, Step.name)
            .order_by(Step.run_id, first_failure)
        )
        async with sessions() as session:
            found = (await session.execute(stmt)).all()
        names: defaultdict[Key, Result] = defaultdict(list)
        for run_id, name in found:
            names[run_id].append(name)
        return [names[run_id] for run_id in run_ids]

    return DataLoader(load_fn=load)
