"""`stats`: every figure checked against the same figure computed here, in Python, from the
rows the test wrote (percentiles as Postgres's percentile_cont defines them: linear
interpolation between the closest ranks)."""

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import data, new_org_key, query, serve
from tests._rows import insert, run_row, step_row
from tracewire.db.enums import RunStatus, StepType
from tracewire.db.models import Run, RunVendorUsage

NOW = datetime.now(UTC)
START = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
END = START + timedelta(hours=24)
S = RunStatus
# (hours after START, status, duration in ms or None, cost)
RUNS = [
    (0, S.COMPLETED, 1000, "0.10"),
    (0, S.COMPLETED, 1500, "0.20"),
    (1, S.FAILED, 4000, "0.05"),
    (3, S.COMPLETED, 2000, "0.00"),
    (3, S.PARTIAL, 8000, "0.30"),
    (5, S.RUNNING, None, "0.01"),
    (5, S.CANCELLED, 300, "0.00"),
    (7, S.FAILED, 12000, "0.40"),
    (7, S.COMPLETED, 900, "0.02"),
    (20, S.NEEDS_REVIEW, None, "0.00"),
]
STATS = """query ($filter: StatsFilter, $bucket: Bucket) { stats(filter: $filter) {
    totalRuns successRate byStatus { status count }
    duration { count avgMs p50Ms p95Ms p99Ms }
    failedNodes { node runs failures }
    stages { stage count errors latency { count avgMs p50Ms p95Ms p99Ms } }
    usage { vendor model calls errors rateLimitHits inputTokens outputTokens cost }
    timeSeries(bucket: $bucket) { start runs failedRuns errors p95Ms cost }
} }"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def distribution(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "avgMs": pytest.approx(sum(values) / len(values)),
        "p50Ms": pytest.approx(percentile(values, 0.5)),
        "p95Ms": pytest.approx(percentile(values, 0.95)),
        "p99Ms": pytest.approx(percentile(values, 0.99)),
    }


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


@pytest.fixture(scope="module")
async def world(engine: AsyncEngine) -> dict[str, Any]:
    key = await new_org_key(engine)
    runs: list[Run] = []
    rows: list[Any] = []
    for i, (hour, status, duration, cost) in enumerate(RUNS):
        created = START + timedelta(hours=hour, minutes=10 + i)
        finished = created + timedelta(milliseconds=duration) if duration is not None else None
        run = run_row(
            key.org_id,
            created_at=created,
            started_at=created,
            finished_at=finished,
            status=status.value,
            cost=Decimal(cost),
            error_count=i % 3,
            agent="billing-bot" if i == 9 else "support-bot",
        )
        runs.append(run)
    # A run from last week: outside the 24 h default, inside a 7-day range.
    old = run_row(key.org_id, created_at=NOW - timedelta(days=5), status=S.COMPLETED.value)
    rows += [*runs, old]
    # Node steps: (run index, name, status, latency)
    nodes = [
        (0, "fetch", "completed", 100.0), (0, "rank", "completed", 300.0),
        (1, "fetch", "completed", 120.0), (2, "fetch", "failed", 900.0),
        (2, "fetch", "failed", 950.0), (4, "rank", "failed", 700.0),
        (7, "rank", "failed", 650.0), (7, "fetch", "completed", 80.0),
        (8, "fetch", "completed", 110.0),
    ]  # fmt: skip
    seqs = dict.fromkeys(range(len(runs)), 0)
    for index, name, status_, latency in nodes:
        seqs[index] += 1
        rows.append(step_row(runs[index], seqs[index], name, status=status_, latency_ms=latency))
    # LLM steps: (run index, vendor, model, status, error code, tokens in/out, cost)
    llms: list[tuple[int, str, str, str, str | None, int | None, int | None, str | None]] = [
        (0, "openai", "gpt-4o", "completed", None, 100, 20, "0.01"),
        (1, "openai", "gpt-4o", "completed", None, 50, 10, "0.005"),
        (2, "openai", "gpt-4o", "failed", "RateLimitError", None, None, None),
        (3, "anthropic", "claude", "completed", None, 300, 30, "0.02"),
        (4, "anthropic", "claude", "failed", "overloaded", 10, 0, "0.001"),
    ]
    for index, vendor, model, status_, code, tin, tout, price in llms:
        seqs[index] += 1
        rows.append(
            step_row(
                runs[index], seqs[index], model, type=StepType.LLM_CALL.value, status=status_,
                vendor=vendor, model=model, error_code=code, input_tokens=tin,
                output_tokens=tout, cost=Decimal(price) if price else None, latency_ms=50.0,
            )
        )  # fmt: skip
    rows.append(
        RunVendorUsage(run_id=runs[0].id, vendor="tavily", org_id=key.org_id, calls=3, errors=1,
                       rate_limit_hits=1, cost=Decimal("0.012"))
    )  # fmt: skip
    rows.append(
        RunVendorUsage(run_id=runs[5].id, vendor="tavily", org_id=key.org_id, calls=2,
                       cost=Decimal("0.008"))
    )  # fmt: skip
    rows.append(
        RunVendorUsage(run_id=old.id, vendor="tavily", org_id=key.org_id, calls=100)
    )  # outside the range: not counted
    await insert(engine, *rows)
    return {"key": key, "runs": runs, "old": old}


async def stats(client: httpx.AsyncClient, world: dict[str, Any], **variables: Any) -> Any:
    return (await data(client, STATS, world["key"], **variables))["stats"]


def the_day() -> dict[str, str]:
    return {"from": START.isoformat(), "to": END.isoformat()}


async def test_run_counts_success_rate_and_durations_match_the_rows(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    result = await stats(client, world, filter=the_day())

    by_status = {s: sum(1 for r in RUNS if r[1] is s) for s in RunStatus}
    ended = [r for r in RUNS if r[1].is_final]
    durations = [float(r[2]) for r in RUNS if r[2] is not None]
    assert result["totalRuns"] == len(RUNS)
    assert result["byStatus"] == [{"status": s.name, "count": by_status[s]} for s in RunStatus]
    assert result["successRate"] == pytest.approx(by_status[S.COMPLETED] / len(ended))
    assert result["duration"] == distribution(durations)


async def test_failed_nodes_and_stages_match_the_node_steps(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    result = await stats(client, world, filter=the_day())

    assert result["failedNodes"] == [  # most runs affected first
        {"node": "rank", "runs": 2, "failures": 2},
        {"node": "fetch", "runs": 1, "failures": 2},
    ]
    fetch = [100.0, 120.0, 900.0, 950.0, 80.0, 110.0]
    rank = [300.0, 700.0, 650.0]
    assert result["stages"] == [
        {"stage": "fetch", "count": 6, "errors": 2, "latency": distribution(fetch)},
        {"stage": "rank", "count": 3, "errors": 2, "latency": distribution(rank)},
    ]


async def test_usage_adds_llm_steps_and_vendor_counters_per_vendor_and_model(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    result = await stats(client, world, filter=the_day())

    assert result["usage"] == [
        {"vendor": "anthropic", "model": "claude", "calls": 2, "errors": 1, "rateLimitHits": 0,
         "inputTokens": 310, "outputTokens": 30, "cost": pytest.approx(0.021)},
        {"vendor": "tavily", "model": None, "calls": 5, "errors": 1, "rateLimitHits": 1,
         "inputTokens": 0, "outputTokens": 0, "cost": pytest.approx(0.02)},
        {"vendor": "openai", "model": "gpt-4o", "calls": 3, "errors": 1, "rateLimitHits": 1,
         "inputTokens": 150, "outputTokens": 30, "cost": pytest.approx(0.015)},
    ]  # fmt: skip


async def test_the_time_series_has_every_hour_with_runs_failures_p95_and_cost(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    result = await stats(client, world, filter=the_day(), bucket="HOUR")

    series = result["timeSeries"]
    assert len(series) == 24
    assert datetime.fromisoformat(series[0]["start"]) == START
    for hour, point in enumerate(series):
        inside = [(i, r) for i, r in enumerate(RUNS) if r[0] == hour]
        durations = [float(r[2]) for _, r in inside if r[2] is not None]
        assert point["runs"] == len(inside)
        assert point["failedRuns"] == sum(1 for _, r in inside if r[1] is S.FAILED)
        assert point["errors"] == sum(i % 3 for i, _ in inside)
        assert point["cost"] == pytest.approx(sum(float(r[3]) for _, r in inside))
        expected_p95 = percentile(durations, 0.95) if durations else None
        assert point["p95Ms"] == pytest.approx(expected_p95)


async def test_a_wider_range_and_an_agent_filter_change_what_is_counted(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    week = await stats(client, world, filter={"lastHours": 24 * 7}, bucket="DAY")
    billing = await stats(client, world, filter={**the_day(), "agent": ["billing-bot"]})
    default = await stats(client, world)

    assert week["totalRuns"] == len(RUNS) + 1
    assert sum(p["runs"] for p in week["timeSeries"]) == len(RUNS) + 1
    assert billing["totalRuns"] == 1
    assert billing["stages"] == [] and billing["usage"] == []
    assert default["totalRuns"] == len(RUNS)  # the last 24 hours


async def test_an_empty_range_has_zero_counts_and_null_figures(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    result = await stats(
        client, world, filter={"from": "2001-01-01T00:00:00Z", "to": "2001-01-02T00:00:00Z"}
    )

    assert result["totalRuns"] == 0
    assert result["successRate"] is None
    assert result["duration"] == {
        "count": 0,
        "avgMs": None,
        "p50Ms": None,
        "p95Ms": None,
        "p99Ms": None,
    }
    assert [p["runs"] for p in result["timeSeries"]] == [0] * 24


async def test_stats_see_only_the_callers_organization(
    client: httpx.AsyncClient, world: dict[str, Any], engine: AsyncEngine
) -> None:
    stranger = await new_org_key(engine)

    result = (await data(client, STATS, stranger, filter=the_day()))["stats"]

    assert result["totalRuns"] == 0 and result["usage"] == [] and result["stages"] == []


async def test_too_many_buckets_is_a_clear_error(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    body = await query(client, STATS, world["key"], filter={"lastHours": 24 * 365}, bucket="MINUTE")

    assert body["errors"][0]["message"] == "more than 2000 buckets: pick a wider bucket"
