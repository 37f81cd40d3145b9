"""(run id, selection) → how many of the run's steps the selection matches."""

import uuid
from collections import defaultdict

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.filters import StepSelection

Key = tuple[uuid.UUID, StepSelection]
Result = int


def step_counts_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(keys: list[Key]) -> list[Result]:
        groups: defaultdict[StepSelection, set[uuid.UUID]] = defaultdict(set)
        for run_id, selection in keys:
            groups[selection].add(run_id)
        counts: dict[Key, int] = {}
        async with sessions() as session:
            for selection, run_ids in groups.items():
                stmt = (
                    scope.columns(caller, Step, Step.run_id, func.count())
                    .where(Step.run_id.in_(run_ids), *selection.clauses())
                    .group_by(Step.run_id)
                )
                for run_id, count in (await session.execute(stmt)).all():
                    counts[run_id, selection] = count
        return [counts.get(key, 0) for key in keys]

    return DataLoader(load_fn=load)
