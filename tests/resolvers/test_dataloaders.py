"""No N+1: a page of runs with their steps, usage, failed nodes, error summaries and
artifacts costs the same handful of statements for 5 runs as for 50."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import data, new_org_key, serve
from tests._rows import insert, run_row, step_row
from tracewire.api.keys import IssuedKey
from tracewire.db.enums import StepStatus, StepType
from tracewire.db.models import RunVendorUsage

PAGE = """query ($first: Int!) { runs(first: $first) { nodes {
    id failedNodes errorSummary
    usage { vendor model calls cost }
    artifacts { id }
    steps(first: 5, types: [NODE, LLM_CALL]) {
        totalCount pageInfo { hasNextPage }
        nodes { seq name details { __typename } children { id } } }
} } }"""
# The runs page, then one query per loader: steps, step counts, step children, failed
# nodes, first failures, usage (steps + vendor counters), artifacts.
EXPECTED_STATEMENTS = 9


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement: str = args[2]
        if "api_keys" not in statement:  # authentication, once per request
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


async def org_with_runs(engine: AsyncEngine, count: int) -> IssuedKey:
    key = await new_org_key(engine)
    rows: list[Any] = []
    for i in range(count):
        run = run_row(key.org_id)
        node = step_row(run, 1, f"node-{i}", status=StepStatus.FAILED.value, error_message="x")
        rows += [
            run,
            node,
            step_row(run, 2, "gpt", type=StepType.LLM_CALL.value, parent_id=node.id,
                     vendor="openai", model="gpt-4o", cost=Decimal("0.1")),
            *[step_row(run, seq, f"n{seq}") for seq in range(3, 9)],
            RunVendorUsage(run_id=run.id, vendor="tavily", org_id=key.org_id, calls=1),
        ]  # fmt: skip
    await insert(engine, *rows)
    return key


async def test_a_page_of_50_runs_with_steps_and_usage_costs_a_fixed_number_of_statements(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    few, many = await org_with_runs(engine, 5), await org_with_runs(engine, 50)

    with statements() as for_few:
        small = (await data(client, PAGE, few, first=5))["runs"]["nodes"]
    with statements() as for_many:
        large = (await data(client, PAGE, many, first=50))["runs"]["nodes"]

    assert len(small) == 5 and len(large) == 50
    run = large[0]
    assert run["failedNodes"] and run["errorSummary"].endswith(": x")
    assert {(u["vendor"], u["calls"]) for u in run["usage"]} == {("openai", 1), ("tavily", 1)}
    assert run["steps"]["totalCount"] == 8
    assert run["steps"]["pageInfo"]["hasNextPage"] is True
    assert [s["seq"] for s in run["steps"]["nodes"]] == [1, 2, 3, 4, 5]
    assert len(run["steps"]["nodes"][0]["children"]) == 1
    assert len(for_many) == len(for_few) == EXPECTED_STATEMENTS, for_many
