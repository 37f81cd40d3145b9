"""Reading runs and steps over GraphQL: organizations never mix, lists are keyset-paginated
without duplicates or gaps, steps come in seq order, failed nodes load without N+1."""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import StepSpec, add_runs, add_steps, data, new_org_key, query, serve
from tracewire.db.enums import RunStatus, StepStatus, StepType

RUNS_PAGE = """
query ($first: Int!, $after: String) {
  runs(first: $first, after: $after) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

STEPS_PAGE = """
query ($id: ID!, $first: Int!, $after: String, $types: [StepType!]) {
  run(id: $id) {
    steps(first: $first, after: $after, types: $types) {
      totalCount
      edges { cursor node { seq name type } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


async def all_run_ids(client: httpx.AsyncClient, key: Any, page_size: int) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        runs = (await data(client, RUNS_PAGE, key, first=page_size, after=after))["runs"]
        ids += [edge["node"]["id"] for edge in runs["edges"]]
        if not runs["pageInfo"]["hasNextPage"]:
            return ids
        after = runs["pageInfo"]["endCursor"]


def as_strings(ids: list[uuid.UUID]) -> list[str]:
    return [str(i) for i in ids]


async def test_each_organization_sees_only_its_own_runs(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    a, b = await new_org_key(engine), await new_org_key(engine)
    a_runs = await add_runs(engine, a.org_id, 3)
    b_runs = await add_runs(engine, b.org_id, 2)

    seen_by_a = (await data(client, RUNS_PAGE, a, first=50))["runs"]
    seen_by_b = (await data(client, RUNS_PAGE, b, first=50))["runs"]

    assert [e["node"]["id"] for e in seen_by_a["edges"]] == as_strings(a_runs)
    assert seen_by_a["totalCount"] == 3
    assert [e["node"]["id"] for e in seen_by_b["edges"]] == as_strings(b_runs)
    assert seen_by_b["totalCount"] == 2


async def test_run_by_id_is_null_for_another_organizations_run(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    a, b = await new_org_key(engine), await new_org_key(engine)
    [b_run] = await add_runs(engine, b.org_id, 1)
    document = "query ($id: ID!) { run(id: $id) { id } }"

    assert (await data(client, document, a, id=str(b_run)))["run"] is None
    assert (await data(client, document, b, id=str(b_run)))["run"] == {"id": str(b_run)}
    assert (await data(client, document, b, id="not-a-uuid"))["run"] is None


async def test_a_run_exposes_its_fields_totals_and_duration(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    [run_id] = await add_runs(
        engine,
        key.org_id,
        1,
        agent="support-bot",
        status=RunStatus.COMPLETED.value,
        user_id="u-1",
        conversation_id="c-1",
        input={"question": "why?"},
        output={"answer": 42},
        metadata_={"region": "eu"},
        tags=["nightly", "beta"],
        current_node="answer",
        started_at=started,
        finished_at=started + timedelta(seconds=1.5),
        step_count=4,
        error_count=1,
        input_tokens=100,
        output_tokens=20,
        cost=Decimal("0.01234567"),
        external_trace_url="https://langfuse.example/trace/1",
    )
    document = """query ($id: ID!) { run(id: $id) {
        agent status userId conversationId input output metadata tags currentNode
        errorCode errorMessage externalTraceUrl startedAt finishedAt durationMs
        stepCount errorCount inputTokens outputTokens cost failedNodes } }"""

    run = (await data(client, document, key, id=str(run_id)))["run"]

    assert run == {
        "agent": "support-bot",
        "status": "COMPLETED",
        "userId": "u-1",
        "conversationId": "c-1",
        "input": {"question": "why?"},
        "output": {"answer": 42},
        "metadata": {"region": "eu"},
        "tags": ["nightly", "beta"],
        "currentNode": "answer",
        "errorCode": None,
        "errorMessage": None,
        "externalTraceUrl": "https://langfuse.example/trace/1",
        "startedAt": "2026-01-02T03:04:05+00:00",
        "finishedAt": "2026-01-02T03:04:06.500000+00:00",
        "durationMs": 1500.0,
        "stepCount": 4,
        "errorCount": 1,
        "inputTokens": 100,
        "outputTokens": 20,
        "cost": 0.01234567,
        "failedNodes": [],
    }


async def test_runs_come_newest_first_and_paginate_without_duplicates_or_gaps(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    # Runs three to a timestamp, so the order (and the cursor) must fall back to the id.
    expected = await add_runs(engine, key.org_id, 23, same_time_every=3)

    assert await all_run_ids(client, key, page_size=5) == as_strings(expected)
    assert await all_run_ids(client, key, page_size=1) == as_strings(expected)
    assert await all_run_ids(client, key, page_size=200) == as_strings(expected)


async def test_page_info_and_total_count_describe_the_whole_list(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    await add_runs(engine, key.org_id, 7)

    first = (await data(client, RUNS_PAGE, key, first=4))["runs"]
    rest = (await data(client, RUNS_PAGE, key, first=4, after=first["pageInfo"]["endCursor"]))[
        "runs"
    ]

    assert first["totalCount"] == rest["totalCount"] == 7
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert not rest["pageInfo"]["hasNextPage"] and rest["pageInfo"]["hasPreviousPage"]
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert rest["pageInfo"]["endCursor"] == rest["edges"][-1]["cursor"]
    assert len(rest["edges"]) == 3


async def test_pages_stay_exact_when_runs_are_inserted_between_fetches(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    now = datetime.now(UTC)
    original = await add_runs(engine, key.org_id, 12, newest=now - timedelta(hours=1))

    first = (await data(client, RUNS_PAGE, key, first=5))["runs"]
    newer = await add_runs(engine, key.org_id, 4, newest=now)  # a busy agent meanwhile
    seen = [e["node"]["id"] for e in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after is not None:
        page = (await data(client, RUNS_PAGE, key, first=5, after=after))["runs"]
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None

    assert seen == as_strings(original)
    assert await all_run_ids(client, key, page_size=5) == as_strings(newer + original)


async def test_first_outside_1_to_200_is_a_clear_error(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)

    too_many = await query(client, RUNS_PAGE, key, first=201)
    too_few = await query(client, RUNS_PAGE, key, first=0)

    assert too_many["data"] is None
    assert too_many["errors"][0]["message"] == "first must be between 1 and 200, got 201"
    assert too_few["errors"][0]["message"] == "first must be between 1 and 200, got 0"


async def test_a_cursor_that_is_not_ours_is_a_clear_error(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)
    await add_steps(engine, key.org_id, run_id, [StepSpec("a"), StepSpec("b")])
    steps = (await data(client, STEPS_PAGE, key, id=str(run_id), first=1))["run"]["steps"]

    garbage = await query(client, RUNS_PAGE, key, first=5, after="bm90IGEgY3Vyc29y")
    step_cursor_for_runs = await query(
        client, RUNS_PAGE, key, first=5, after=steps["pageInfo"]["endCursor"]
    )

    assert garbage["errors"][0]["message"].startswith("not a cursor from this list")
    assert step_cursor_for_runs["errors"][0]["message"] == (
        "that cursor belongs to a different list"
    )


async def test_steps_come_in_seq_order_and_paginate(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)
    names = [f"step-{i}" for i in range(1, 8)]
    await add_steps(engine, key.org_id, run_id, [StepSpec(name) for name in names])

    seen: list[tuple[int, str]] = []
    after = None
    while True:
        page = (await data(client, STEPS_PAGE, key, id=str(run_id), first=3, after=after))["run"][
            "steps"
        ]
        assert page["totalCount"] == 7
        seen += [(e["node"]["seq"], e["node"]["name"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == list(enumerate(names, start=1))


async def test_steps_can_be_filtered_by_type(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)
    await add_steps(
        engine,
        key.org_id,
        run_id,
        [
            StepSpec("plan", StepType.NODE),
            StepSpec("gpt", StepType.LLM_CALL),
            StepSpec("search", StepType.TOOL_CALL),
            StepSpec("gpt", StepType.LLM_CALL),
        ],
    )

    steps = (
        await data(
            client, STEPS_PAGE, key, id=str(run_id), first=10, types=["LLM_CALL", "TOOL_CALL"]
        )
    )["run"]["steps"]

    assert [(e["node"]["seq"], e["node"]["type"]) for e in steps["edges"]] == [
        (2, "LLM_CALL"),
        (3, "TOOL_CALL"),
        (4, "LLM_CALL"),
    ]
    assert steps["totalCount"] == 3


async def test_step_pages_are_capped_at_1000(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)

    body = await query(client, STEPS_PAGE, key, id=str(run_id), first=1001)

    assert body["errors"][0]["message"] == "first must be between 1 and 1000, got 1001"


async def test_a_step_exposes_its_fields(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)
    [step_id] = await add_steps(
        engine, key.org_id, run_id, [StepSpec("gpt", StepType.LLM_CALL, StepStatus.FAILED)]
    )
    document = """query ($id: ID!) { run(id: $id) { steps { nodes {
        id runId seq parentId name type status input output payload startedAt endedAt
        latencyMs model vendor inputTokens outputTokens cost errorCode errorMessage
        errorTraceback } } } }"""

    [step] = (await data(client, document, key, id=str(run_id)))["run"]["steps"]["nodes"]

    assert step["id"] == str(step_id)
    assert step["runId"] == str(run_id)
    assert (step["seq"], step["name"], step["type"], step["status"]) == (
        1,
        "gpt",
        "LLM_CALL",
        "FAILED",
    )
    assert step["payload"] == {}
    assert step["cost"] == 0.001
    assert step["parentId"] is None


async def test_failed_nodes_lists_each_failed_node_once_in_seq_order(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    [run_id] = await add_runs(engine, key.org_id, 1)
    await add_steps(
        engine,
        key.org_id,
        run_id,
        [
            StepSpec("parse", StepType.NODE, StepStatus.COMPLETED),
            StepSpec("fetch", StepType.NODE, StepStatus.FAILED),
            StepSpec("gpt", StepType.LLM_CALL, StepStatus.FAILED),  # not a node
            StepSpec("summarise", StepType.NODE, StepStatus.FAILED),
            StepSpec("fetch", StepType.NODE, StepStatus.FAILED),  # retried, failed again
        ],
    )
    document = "query ($id: ID!) { run(id: $id) { failedNodes } }"

    run = (await data(client, document, key, id=str(run_id)))["run"]

    assert run["failedNodes"] == ["fetch", "summarise"]


@contextmanager
def statements_on(table: str) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement: str = args[2]
        if f"FROM {table}" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_failed_nodes_of_a_page_of_runs_load_in_one_query(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run_ids = await add_runs(engine, key.org_id, 5)
    for i, run_id in enumerate(run_ids):
        await add_steps(
            engine, key.org_id, run_id, [StepSpec(f"node-{i}", StepType.NODE, StepStatus.FAILED)]
        )

    with statements_on("steps") as statements:
        runs = (await data(client, "{ runs(first: 5) { nodes { failedNodes } } }", key))["runs"]

    assert [run["failedNodes"] for run in runs["nodes"]] == [[f"node-{i}"] for i in range(5)]
    assert len(statements) == 1
