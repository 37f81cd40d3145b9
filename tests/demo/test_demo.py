"""The demo agent against a real Postgres: what a user opening the UI after `tracewire demo`
would see (completed, partial and failed runs with a node tree), and that it stops on cue."""

import asyncio
import threading
import uuid
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._poll import wait_until
from tracewire.db.engine import session_factory
from tracewire.db.models import Organization, Run, RunVendorUsage, Step
from tracewire.demo._graph import NODES, PRICES, SEARCH_VENDOR
from tracewire.demo.agent import AGENT, run_demo

# Seeded so that these 30 runs include failed and partial ones (24 completed, 4 failed,
# 2 partial); the demo itself is unseeded.
_SEED = 3
_RUNS = 30
STOPS_WITHIN = 30.0


def _org() -> str:
    return f"demo-{uuid.uuid4().hex[:8]}"


async def _recorded(
    engine: AsyncEngine, org: str
) -> tuple[list[Run], dict[uuid.UUID, list[Step]], list[RunVendorUsage]]:
    async with session_factory(engine)() as session:
        org_id = await session.scalar(select(Organization.id).where(Organization.slug == org))
        runs = list(await session.scalars(select(Run).where(Run.org_id == org_id)))
        steps = await session.scalars(
            select(Step).where(Step.org_id == org_id).order_by(Step.run_id, Step.seq)
        )
        usage = list(
            await session.scalars(select(RunVendorUsage).where(RunVendorUsage.org_id == org_id))
        )
    by_run: dict[uuid.UUID, list[Step]] = defaultdict(list)
    for step in steps:
        by_run[step.run_id].append(step)
    return runs, by_run, usage


async def test_demo_records_completed_partial_and_failed_runs_with_a_node_tree(
    database_url: str, engine: AsyncEngine
) -> None:
    org = _org()
    recorded = await asyncio.to_thread(
        run_demo, database_url, org=org, runs_per_second=50, max_runs=_RUNS, seed=_SEED
    )

    assert recorded == _RUNS
    runs, steps, usage = await _recorded(engine, org)
    assert len(runs) == _RUNS
    statuses = Counter(run.status for run in runs)
    assert set(statuses) == {"completed", "partial", "failed"}
    assert {run.agent for run in runs} == {AGENT}
    assert all(run.finished_at is not None and "demo" in run.tags for run in runs)
    assert len({run.user_id for run in runs}) > 1
    assert max(Counter(run.conversation_id for run in runs).values()) > 1

    for run in runs:
        run_steps = steps[run.id]
        assert [s.seq for s in run_steps] == list(range(1, len(run_steps) + 1))
        assert run.step_count == len(run_steps)
        by_id = {s.id: s for s in run_steps}
        nodes = [s for s in run_steps if s.type == "node"]
        assert all(s.parent_id is None for s in nodes)
        for step in run_steps:
            if step.type == "node":
                continue
            # thoughts, tools, LLM calls... hang under a node (a retry error under its tool)
            parent = by_id[step.parent_id] if step.parent_id else None
            assert parent is not None, step.name
            if step.type != "error":
                assert parent.type == "node", step.name

        if run.status == "failed":
            assert run.error_code == "review_error"
            assert [s.name for s in nodes] == list(NODES)
            failed = nodes[-1]
            assert failed.status == "failed"
            assert failed.error_message == run.error_message
            assert failed.error_message and "draft" in failed.error_message
            assert failed.error_traceback is not None
            assert "PolicyViolation" in failed.error_traceback
            assert any(v.payload["passed"] is False for v in run_steps if v.type == "validation")
            continue

        assert [s.name for s in nodes] == list(NODES)
        assert all(s.status == "completed" and s.latency_ms for s in nodes)
        assert run.output and run.output["answer"]
        assert run.input_tokens > 0 and run.cost > 0
        if run.status == "partial":
            assert run.output["unresolved"]
            assert any(s.error_code == "order_not_found" for s in run_steps)

        llm_calls = [s for s in run_steps if s.type == "llm_call"]
        assert {s.model for s in llm_calls} == set(PRICES)
        for call in llm_calls:
            assert call.vendor == "fake"
            assert call.input_tokens and call.output_tokens
            assert call.cost is not None and call.cost > 0
            assert call.output
        tool_calls = [s for s in run_steps if s.type == "tool_call"]
        assert "search_kb" in {s.name for s in tool_calls}
        assert all(s.output is not None for s in tool_calls if s.status == "completed")

    searches = [u for u in usage if u.vendor == SEARCH_VENDOR]
    assert len(searches) == _RUNS
    assert all(u.calls >= 1 and u.cost > 0 for u in searches)


async def test_setting_stop_makes_the_demo_return_promptly_with_every_run_written(
    database_url: str, engine: AsyncEngine
) -> None:
    org, stop = _org(), threading.Event()
    demo = asyncio.create_task(
        asyncio.to_thread(run_demo, database_url, org=org, runs_per_second=5, stop=stop)
    )

    async def a_run_is_written() -> bool:
        runs, _, _ = await _recorded(engine, org)
        return bool(runs)

    await wait_until(a_run_is_written)
    stop.set()
    # Without the stop it would record forever; the margin is for a loaded machine.
    recorded = await asyncio.wait_for(demo, timeout=STOPS_WITHIN)

    assert recorded >= 1
    runs, _, _ = await _recorded(engine, org)
    assert len(runs) == recorded
    assert all(run.status in {"completed", "partial", "failed"} for run in runs)


def test_a_demo_without_a_pace_is_refused() -> None:
    with pytest.raises(ValueError, match="runs_per_second"):
        run_demo("postgresql://nowhere/db", runs_per_second=0, max_runs=1)
