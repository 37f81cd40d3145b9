"""`runs(filter:)`: each filter narrows the list to exactly the runs it names, filters
combine, `totalCount` follows the filter, and a bad filter is a clear error."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import StepSpec, add_runs, add_steps, data, new_org_key, query, serve
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import session_factory
from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.db.models import Step

RUNS = """
query ($filter: RunFilter, $first: Int!, $after: String) {
  runs(filter: $filter, first: $first, after: $after) {
    totalCount
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}
"""
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


@pytest.fixture(scope="module")
async def world(engine: AsyncEngine) -> dict[str, Any]:
    """One org with runs that differ in one attribute each, named by what sets them apart."""
    key = await new_org_key(engine)
    org = key.org_id
    runs: dict[str, uuid.UUID] = {}

    async def one(name: str, **fields: Any) -> uuid.UUID:
        [run_id] = await add_runs(engine, org, 1, **fields)
        runs[name] = run_id
        return run_id

    await one("plain", newest=NOW - timedelta(minutes=1))
    await one("failed", status=RunStatus.FAILED.value, newest=NOW - timedelta(minutes=2),
              error_code="TimeoutError", error_message="upstream took too long")  # fmt: skip
    await one("other_agent", agent="billing-bot", newest=NOW - timedelta(minutes=3))
    await one("user", user_id="u-7", newest=NOW - timedelta(minutes=4))
    await one("conversation", conversation_id="c-9", newest=NOW - timedelta(minutes=5))
    await one("tagged", tags=["prod", "eu"], newest=NOW - timedelta(minutes=6))
    await one("half_tagged", tags=["prod"], newest=NOW - timedelta(minutes=7))
    await one("old", newest=NOW - timedelta(days=3))
    node_failed = await one("node_failed", newest=NOW - timedelta(minutes=8))
    await add_steps(engine, org, node_failed, [
        StepSpec("fetch", StepType.NODE, StepStatus.COMPLETED),
        StepSpec("rank", StepType.NODE, StepStatus.FAILED),
    ])  # fmt: skip
    llm_failed = await one("llm_failed", newest=NOW - timedelta(minutes=9))
    await add_steps(
        engine, org, llm_failed, [StepSpec("rank", StepType.LLM_CALL, StepStatus.FAILED)]
    )
    return {"key": key, "runs": runs}


async def ids(client: httpx.AsyncClient, key: IssuedKey, filter: dict[str, Any]) -> set[str]:
    result = (await data(client, RUNS, key, filter=filter, first=200))["runs"]
    assert result["totalCount"] == len(result["nodes"])
    return {node["id"] for node in result["nodes"]}


def names(world: dict[str, Any], *wanted: str) -> set[str]:
    return {str(world["runs"][name]) for name in wanted}


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"status": ["FAILED"]}, ["failed"]),
        ({"agent": ["billing-bot"]}, ["other_agent"]),
        ({"userId": "u-7"}, ["user"]),
        ({"conversationId": "c-9"}, ["conversation"]),
        ({"tags": ["prod", "eu"]}, ["tagged"]),
        ({"tags": ["prod"]}, ["tagged", "half_tagged"]),
        ({"failedNode": "rank"}, ["node_failed"]),
        ({"errorText": "TOO LONG"}, ["failed"]),
        ({"errorText": "timeout"}, ["failed"]),
        ({"lastHours": 48, "agent": ["test-agent"], "status": ["PENDING"], "tags": ["prod"]},
         ["tagged", "half_tagged"]),
    ],
)  # fmt: skip
async def test_each_filter_selects_exactly_the_runs_it_names(
    client: httpx.AsyncClient, world: dict[str, Any], filter: dict[str, Any], expected: list[str]
) -> None:
    assert await ids(client, world["key"], filter) == names(world, *expected)


async def test_a_time_range_keeps_runs_created_inside_it(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    everything = set(str(r) for r in world["runs"].values())
    recent = everything - names(world, "old")

    assert await ids(client, world["key"], {"lastHours": 24}) == recent
    old_window = {
        "from": (NOW - timedelta(days=4)).isoformat(),
        "to": (NOW - timedelta(days=2)).isoformat(),
    }
    assert await ids(client, world["key"], old_window) == names(world, "old")
    assert await ids(client, world["key"], {"to": (NOW - timedelta(days=1)).isoformat()}) == names(
        world, "old"
    )


async def test_a_failed_step_error_matches_the_error_text_search(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)
    await add_steps(engine, key.org_id, run_id, [StepSpec("x", StepType.ERROR, StepStatus.FAILED)])
    await add_runs(engine, key.org_id, 2)
    async with session_factory(engine).begin() as session:
        await session.execute(
            update(Step).where(Step.run_id == run_id).values(error_message="quota 50% used_up")
        )

    assert await ids(client, key, {"errorText": "50% used_"}) == {str(run_id)}
    assert await ids(client, key, {"errorText": "50%% used"}) == set()  # % is not a wildcard


async def test_filtered_pages_follow_on_without_duplicates(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    wanted = await add_runs(engine, key.org_id, 7, status=RunStatus.COMPLETED.value)
    await add_runs(engine, key.org_id, 5, status=RunStatus.FAILED.value)
    seen: list[str] = []
    after = None
    while True:
        page = (
            await data(client, RUNS, key, filter={"status": ["COMPLETED"]}, first=3, after=after)
        )["runs"]
        seen += [n["id"] for n in page["nodes"]]
        assert page["totalCount"] == 7
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == [str(r) for r in wanted]


async def test_first_and_after_at_the_very_end_give_an_empty_last_page(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    await add_runs(engine, key.org_id, 3)
    full = (await data(client, RUNS, key, first=3))["runs"]
    after_end = (await data(client, RUNS, key, first=3, after=full["pageInfo"]["endCursor"]))[
        "runs"
    ]

    assert not full["pageInfo"]["hasNextPage"]
    assert after_end["nodes"] == []
    assert after_end["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert after_end["totalCount"] == 3


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ({"lastHours": 0}, "lastHours must be more than 0"),
        ({"lastHours": 1e9}, "lastHours must be more than 0 and at most"),
        ({"lastHours": 2, "from": "2026-01-01T00:00:00Z"}, "either lastHours or from"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "earlier than to"),
        ({"from": "2026-01-02T00:00:00"}, "needs a time zone"),
        ({"errorText": "   "}, "errorText must not be blank"),
        ({"agent": ["x" * 501]}, "longer than 500"),
        ({"tags": ["t"] * 101}, "at most 100 values"),
        ({"userId": "u\x00"}, "userId must not contain NUL characters"),
    ],
)
async def test_an_invalid_filter_is_a_clear_error(
    client: httpx.AsyncClient, engine: AsyncEngine, filter: dict[str, Any], message: str
) -> None:
    key = await new_org_key(engine)

    body = await query(client, RUNS, key, filter=filter, first=5)

    assert body["data"] is None
    assert message in body["errors"][0]["message"]


async def test_an_unknown_status_is_refused_by_the_schema(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)

    body = await query(client, RUNS, key, filter={"status": ["EXPLODED"]}, first=5)

    assert "EXPLODED" in body["errors"][0]["message"]
