"""Run id → the run's usage by vendor and model (see `resolvers.usage`)."""

import uuid
from collections import defaultdict

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from tracewire.db.models import RunVendorUsage, Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.usage import UsageLine, merge, step_usage_columns

Key = uuid.UUID
Result = list[UsageLine]


def run_usage_loader(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> DataLoader[Key, Result]:
    async def load(run_ids: list[Key]) -> list[Result]:
        from_steps = (
            scope.columns(caller, Step, Step.run_id, Step.vendor, Step.model, *step_usage_columns())
            .where(Step.run_id.in_(run_ids), or_(Step.vendor.isnot(None), Step.model.isnot(None)))
            .group_by(Step.run_id, Step.vendor, Step.model)
        )
        counters = scope.rows(caller, RunVendorUsage).where(RunVendorUsage.run_id.in_(run_ids))
        lines: defaultdict[Key, Result] = defaultdict(list)
        async with sessions() as session:
            for run_id, *fields in (await session.execute(from_steps)).all():
                lines[run_id].append(UsageLine(*fields))
            for usage in (await session.scalars(counters)).all():
                lines[usage.run_id].append(
                    UsageLine(
                        usage.vendor,
                        None,
                        usage.calls,
                        usage.errors,
                        usage.rate_limit_hits,
                        usage.input_tokens,
                        usage.output_tokens,
                        usage.cost,
                    )
                )
        return [merge(lines[run_id]) for run_id in run_ids]

    return DataLoader(load_fn=load)
