"""Dashboard figures over a filter. Each field runs its own SQL when asked for, so a client
pays only for the figures it selects."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from tracewire.db.enums import RunStatus
from tracewire.resolvers import stats
from tracewire.resolvers.context import Context
from tracewire.resolvers.filters import RunFilterSpec
from tracewire.resolvers.pagination import check_first
from tracewire.schema.types._field import field
from tracewire.schema.types.enums import Bucket
from tracewire.schema.types.stats_figures import (
    DurationStats,
    FailedNode,
    StageStats,
    StatsPoint,
    StatusCount,
)
from tracewire.schema.types.usage import VendorUsage

_FINAL = [s for s in RunStatus if s.is_final]
MAX_GROUPS = 200


@strawberry.type(
    description="Figures over the runs a `StatsFilter` selects (the last 24 hours by default)."
)
class Stats:
    range_start: datetime | None = strawberry.field(description="Start of the range covered.")
    range_end: datetime = strawberry.field(description="End of the range covered.")
    spec: strawberry.Private[RunFilterSpec]
    counts: strawberry.Private["asyncio.Task[dict[RunStatus, int]] | None"]

    @classmethod
    def of(cls, spec: RunFilterSpec) -> "Stats":
        now = datetime.now(UTC)
        return cls(
            range_start=spec.created.start,
            range_end=spec.created.end or now,
            spec=spec,
            counts=None,
        )

    async def _counts(self, context: Context) -> dict[RunStatus, int]:
        # totalRuns, byStatus and successRate share one query.
        if self.counts is None:
            self.counts = asyncio.ensure_future(stats.status_counts(context, self.spec))
        return await self.counts

    @field(description="Runs created in the range.")
    async def total_runs(self, info: Info[Context, None]) -> int:
        return sum((await self._counts(info.context)).values())

    @field(description="Runs per status, every status listed (zeros included).")
    async def by_status(self, info: Info[Context, None]) -> list[StatusCount]:
        counts = await self._counts(info.context)
        return [StatusCount(status=s, count=counts.get(s, 0)) for s in RunStatus]

    @field(
        description="COMPLETED runs divided by runs that ended (completed, partial, failed, "
        "cancelled), from 0 to 1; null when none ended."
    )
    async def success_rate(self, info: Info[Context, None]) -> float | None:
        counts = await self._counts(info.context)
        ended = sum(counts.get(s, 0) for s in _FINAL)
        return counts.get(RunStatus.COMPLETED, 0) / ended if ended else None

    @field(description="Start-to-finish durations of the runs that ended.")
    async def duration(self, info: Info[Context, None]) -> DurationStats:
        return DurationStats.of(await stats.durations(info.context, self.spec))

    @field(description="Nodes that failed, most runs affected first.")
    async def failed_nodes(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="At most this many (≤ 200).")] = 20,
    ) -> list[FailedNode]:
        found = await stats.failed_nodes(info.context, self.spec, _limit(first))
        return [FailedNode(node=f.node, runs=f.runs, failures=f.failures) for f in found]

    @field(description="Per node/stage: runs, errors, latency percentiles; busiest first.")
    async def stages(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="At most this many (≤ 200).")] = 50,
    ) -> list[StageStats]:
        return [
            StageStats.of(s) for s in await stats.stages(info.context, self.spec, _limit(first))
        ]

    @field(description="Per vendor and model: calls, errors, rate-limit hits, tokens, cost.")
    async def usage(self, info: Info[Context, None]) -> list[VendorUsage]:
        return [VendorUsage.of(line) for line in await stats.usage(info.context, self.spec)]

    @field(
        description="Runs, failures, p95 duration and cost per bucket of creation time; empty "
        "buckets included. The bucket is HOUR for ranges up to 48 hours, else DAY, unless given."
    )
    async def time_series(
        self,
        info: Info[Context, None],
        bucket: Annotated[Bucket | None, strawberry.argument(description="Bucket width.")] = None,
    ) -> list[StatsPoint]:
        width = bucket or stats.default_bucket(self.spec, self.range_end)
        points = await stats.time_series(info.context, self.spec, width, self.range_end)
        return [StatsPoint.of(p) for p in points]


def _limit(first: int) -> int:
    check_first(first, MAX_GROUPS)
    return first
