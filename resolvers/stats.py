"""Aggregates for dashboards (seeds 003 and 004), computed by Postgres: counts by status,
durations and percentiles, failed nodes, per-stage and per-vendor usage, a time series.

Run figures count runs created in the range; stage and usage figures count steps that
started in it (their runs narrowed by the other filters), so a dashboard over "the last 24
hours" reads only that day's rows through the (org_id, ..., started_at) indexes.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Float, func, literal, or_

from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.db.models import Run, RunVendorUsage, Step
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.errors import InvalidArgument
from tracewire.resolvers.filters import ALL_RUNS, RunFilterSpec, TimeRange
from tracewire.resolvers.usage import UsageLine, merge, step_usage_columns

MAX_BUCKETS = 2000
PERCENTILES = (0.5, 0.95, 0.99)


class Bucket(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def width(self) -> timedelta:
        return {"minute": timedelta(minutes=1), "hour": timedelta(hours=1)}.get(
            self.value, timedelta(days=1)
        )


@dataclass(frozen=True, slots=True)
class Distribution:
    """Average and percentiles of a duration, in milliseconds; None when there are none."""

    count: int
    avg: float | None
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class NodeFailures:
    node: str
    runs: int
    failures: int


@dataclass(frozen=True, slots=True)
class StageFigures:
    stage: str
    count: int
    errors: int
    latency: Distribution


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    start: datetime
    runs: int
    failed_runs: int
    errors: int
    p95_ms: float | None
    cost: Decimal


def _ms_between(start: Any, end: Any) -> ColumnElement[float]:
    return (func.extract("epoch", end - start) * 1000).cast(Float)


def _distribution_columns(value: Any) -> list[Any]:
    return [
        func.count(value),
        func.avg(value),
        func.percentile_cont(literal(list(PERCENTILES), ARRAY(Float))).within_group(value),
    ]


def _distribution(count: int, avg: float | None, percentiles: list[float] | None) -> Distribution:
    p50, p95, p99 = percentiles if count and percentiles else (None, None, None)
    return Distribution(count, float(avg) if avg is not None else None, p50, p95, p99)


def _step_clauses(spec: RunFilterSpec, context: Context) -> list[ColumnElement[bool]]:
    """Steps that started in the spec's range, of runs matching the spec's other filters."""
    clauses = spec.created.clauses(Step.started_at)
    others = dataclasses.replace(spec, created=TimeRange())
    if others != ALL_RUNS:
        runs = others.apply(context.caller, scope.columns(context.caller, Run, Run.id))
        clauses.append(Step.run_id.in_(runs))
    return clauses


async def status_counts(context: Context, spec: RunFilterSpec) -> dict[RunStatus, int]:
    stmt = (
        scope.columns(context.caller, Run, Run.status, func.count())
        .where(*spec.clauses(context.caller))
        .group_by(Run.status)
    )
    async with context.sessions() as session:
        rows = (await session.execute(stmt)).all()
    return {RunStatus(status): count for status, count in rows}


async def durations(context: Context, spec: RunFilterSpec) -> Distribution:
    """Start-to-finish durations of the runs that have finished."""
    duration = _ms_between(Run.started_at, Run.finished_at)
    stmt = scope.columns(context.caller, Run, *_distribution_columns(duration)).where(
        *spec.clauses(context.caller),
        Run.started_at.isnot(None),
        Run.finished_at.isnot(None),
    )
    async with context.sessions() as session:
        count, avg, percentiles = (await session.execute(stmt)).one()
    return _distribution(count, avg, percentiles)


async def failed_nodes(context: Context, spec: RunFilterSpec, limit: int) -> list[NodeFailures]:
    stmt = (
        scope.columns(
            context.caller,
            Step,
            Step.name,
            func.count(Step.run_id.distinct()).label("runs"),
            func.count().label("failures"),
        )
        .where(
            *_step_clauses(spec, context),
            Step.type == StepType.NODE.value,
            Step.status == StepStatus.FAILED.value,
        )
        .group_by(Step.name)
        .order_by(func.count(Step.run_id.distinct()).desc(), Step.name)
        .limit(limit)
    )
    async with context.sessions() as session:
        rows = (await session.execute(stmt)).all()
    return [NodeFailures(name, runs, failures) for name, runs, failures in rows]


async def stages(context: Context, spec: RunFilterSpec, limit: int) -> list[StageFigures]:
    """Per node/stage: how often it ran, how often it failed, its latency percentiles."""
    stmt = (
        scope.columns(
            context.caller,
            Step,
            Step.name,
            func.count().label("count"),
            func.count().filter(Step.status == StepStatus.FAILED.value),
            *_distribution_columns(Step.latency_ms),
        )
        .where(*_step_clauses(spec, context), Step.type == StepType.NODE.value)
        .group_by(Step.name)
        .order_by(func.count().desc(), Step.name)
        .limit(limit)
    )
    async with context.sessions() as session:
        rows = (await session.execute(stmt)).all()
    return [
        StageFigures(name, count, errors, _distribution(timed, avg, percentiles))
        for name, count, errors, timed, avg, percentiles in rows
    ]


async def usage(context: Context, spec: RunFilterSpec) -> list[UsageLine]:
    """Per vendor and model, from LLM/tool steps plus the vendor counters of the runs."""
    from_steps = (
        scope.columns(context.caller, Step, Step.vendor, Step.model, *step_usage_columns())
        .where(
            *_step_clauses(spec, context),
            or_(Step.vendor.isnot(None), Step.model.isnot(None)),
        )
        .group_by(Step.vendor, Step.model)
    )
    runs = spec.apply(context.caller, scope.columns(context.caller, Run, Run.id))
    u = RunVendorUsage
    from_counters = (
        scope.columns(
            context.caller,
            u,
            u.vendor,
            func.sum(u.calls),
            func.sum(u.errors),
            func.sum(u.rate_limit_hits),
            func.sum(u.input_tokens),
            func.sum(u.output_tokens),
            func.sum(u.cost),
        )
        .where(u.run_id.in_(runs))
        .group_by(u.vendor)
    )
    async with context.sessions() as session:
        lines = [UsageLine(*row) for row in (await session.execute(from_steps)).all()]
        lines += [
            UsageLine(vendor, None, int(calls), int(errors), int(limited), int(i), int(o), cost)
            for vendor, calls, errors, limited, i, o, cost in (
                await session.execute(from_counters)
            ).all()
        ]
    return merge(lines)


def default_bucket(spec: RunFilterSpec, now: datetime) -> Bucket:
    start, end = spec.created.start, spec.created.end or now
    if start is not None and end - start <= timedelta(hours=48):
        return Bucket.HOUR
    return Bucket.DAY


async def time_series(
    context: Context, spec: RunFilterSpec, bucket: Bucket, now: datetime
) -> list[SeriesPoint]:
    """Runs per bucket of `created_at`, empty buckets included (when the range is bounded)."""
    start, end = spec.created.start, spec.created.end or now
    origin = start or datetime(2000, 1, 1, tzinfo=now.tzinfo)
    if start is not None and (end - start) / bucket.width > MAX_BUCKETS:
        raise InvalidArgument(f"more than {MAX_BUCKETS} buckets: pick a wider bucket")
    slot = func.date_bin(literal(bucket.width), Run.created_at, literal(origin)).label("slot")
    duration = _ms_between(Run.started_at, Run.finished_at)
    stmt = (
        scope.columns(
            context.caller,
            Run,
            slot,
            func.count(),
            func.count().filter(Run.status == RunStatus.FAILED.value),
            func.coalesce(func.sum(Run.error_count), 0),
            func.percentile_cont(0.95).within_group(duration),
            func.coalesce(func.sum(Run.cost), 0),
        )
        .where(*spec.clauses(context.caller))
        .group_by(slot)
        .order_by(slot)
        .limit(MAX_BUCKETS)
    )
    async with context.sessions() as session:
        found = {
            row[0]: SeriesPoint(row[0], row[1], row[2], int(row[3]), row[4], row[5])
            for row in (await session.execute(stmt)).all()
        }
    if start is None:
        return list(found.values())
    points = []
    moment = origin
    while moment < end:
        points.append(found.get(moment) or SeriesPoint(moment, 0, 0, 0, None, Decimal(0)))
        moment += bucket.width
    return points
