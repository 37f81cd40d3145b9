"""The figures `Stats` is made of: small value types, one concept (a dashboard's numbers),
so they share a module instead of five 15-line ones."""

from datetime import datetime

import strawberry

from tracewire.resolvers import stats
from tracewire.schema.types.enums import RunStatus


@strawberry.type(description="How many runs are in one status.")
class StatusCount:
    status: RunStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Runs in it.")


@strawberry.type(description="Average and percentiles of durations, in milliseconds.")
class DurationStats:
    count: int = strawberry.field(description="How many durations were measured.")
    avg_ms: float | None = strawberry.field(description="Mean; null when there are none.")
    p50_ms: float | None = strawberry.field(description="Median.")
    p95_ms: float | None = strawberry.field(description="95th percentile.")
    p99_ms: float | None = strawberry.field(description="99th percentile.")

    @classmethod
    def of(cls, d: stats.Distribution) -> "DurationStats":
        return cls(count=d.count, avg_ms=d.avg, p50_ms=d.p50, p95_ms=d.p95, p99_ms=d.p99)


@strawberry.type(description="A node that failed, and how often.")
class FailedNode:
    node: str = strawberry.field(description="The node's name.")
    runs: int = strawberry.field(description="Runs in which it failed at least once.")
    failures: int = strawberry.field(description="Times it failed (retries count).")


@strawberry.type(description="A node or pipeline stage: how often it ran, failed, and its latency.")
class StageStats:
    stage: str = strawberry.field(description="The node or stage name.")
    count: int = strawberry.field(description="Times it ran.")
    errors: int = strawberry.field(description="Times it failed.")
    latency: DurationStats = strawberry.field(description="Its latency (steps that ended).")

    @classmethod
    def of(cls, s: stats.StageFigures) -> "StageStats":
        return cls(
            stage=s.stage, count=s.count, errors=s.errors, latency=DurationStats.of(s.latency)
        )


@strawberry.type(description="One bucket of the time series.")
class StatsPoint:
    start: datetime = strawberry.field(description="The bucket's start.")
    runs: int = strawberry.field(description="Runs created in it.")
    failed_runs: int = strawberry.field(description="Of those, runs now FAILED.")
    errors: int = strawberry.field(description="Failed steps of those runs.")
    p95_ms: float | None = strawberry.field(description="95th percentile run duration.")
    cost: float = strawberry.field(description="Cost of those runs, in US dollars.")

    @classmethod
    def of(cls, p: stats.SeriesPoint) -> "StatsPoint":
        return cls(
            start=p.start,
            runs=p.runs,
            failed_runs=p.failed_runs,
            errors=p.errors,
            p95_ms=p.p95_ms,
            cost=float(p.cost),
        )
