"""The run lifecycle over GraphQL: every allowed transition changes the run and appends a
status event with the next seq (and a NOTIFY the live stream picks up); every refused one
is a clear error that changes nothing."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import add_runs, data, new_org_key, query, serve
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import driver_dsn, session_factory
from tracewire.db.enums import RunStatus
from tracewire.db.models import Run, RunEvent
from tracewire.db.notify import CHANNEL as NOTIFY_CHANNEL

RUN = "id status startedAt finishedAt errorCode errorMessage output"
MUTATIONS = {
    "start": f"mutation ($id: ID!) {{ startRun(id: $id) {{ {RUN} }} }}",
    "finish": f"""mutation ($id: ID!, $input: FinishRunInput) {{
        finishRun(id: $id, input: $input) {{ {RUN} }} }}""",
    "cancel": f"""mutation ($id: ID!, $note: String) {{
        cancelRun(id: $id, note: $note) {{ {RUN} }} }}""",
    "request": f"""mutation ($id: ID!, $note: String) {{
        requestReview(id: $id, note: $note) {{ {RUN} }} }}""",
    "approve": f"""mutation ($id: ID!, $note: String) {{
        approveReview(id: $id, note: $note) {{ {RUN} }} }}""",
    "reject": f"""mutation ($id: ID!, $note: String) {{
        rejectReview(id: $id, note: $note) {{ {RUN} }} }}""",
}
FIELD = {
    "start": "startRun",
    "finish": "finishRun",
    "cancel": "cancelRun",
    "request": "requestReview",
    "approve": "approveReview",
    "reject": "rejectReview",
}
S = RunStatus
ALLOWED = {
    "start": ({S.PENDING, S.NEEDS_REVIEW}, S.RUNNING),
    "finish": ({S.RUNNING, S.STALLED}, S.COMPLETED),
    "cancel": ({S.PENDING, S.RUNNING, S.NEEDS_REVIEW, S.STALLED}, S.CANCELLED),
    "request": ({S.RUNNING}, S.NEEDS_REVIEW),
    "approve": ({S.NEEDS_REVIEW}, S.RUNNING),
    "reject": ({S.NEEDS_REVIEW}, S.FAILED),
}
CASES = [(action, status) for action in ALLOWED for status in RunStatus]


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


@pytest.fixture(scope="module")
async def key(engine: AsyncEngine) -> IssuedKey:
    return await new_org_key(engine)


async def events(engine: AsyncEngine, run_id: Any) -> list[RunEvent]:
    async with session_factory(engine)() as session:
        found = await session.scalars(
            select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.seq)
        )
        return list(found)


async def stored(engine: AsyncEngine, run_id: Any) -> Run:
    async with session_factory(engine)() as session:
        run = await session.get(Run, run_id)
        assert run is not None
        return run


@pytest.mark.parametrize(("action", "status"), CASES, ids=[f"{a}-{s}" for a, s in CASES])
async def test_each_transition_is_applied_from_allowed_statuses_and_refused_from_the_rest(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey, action: str, status: RunStatus
) -> None:
    [run_id] = await add_runs(engine, key.org_id, 1, status=status.value, last_event_seq=3)
    sources, target = ALLOWED[action]

    body = await query(client, MUTATIONS[action], key, id=str(run_id), note="why")

    log = await events(engine, run_id)
    if status in sources:
        assert "errors" not in body, body
        assert body["data"][FIELD[action]]["status"] == target.name
        assert (await stored(engine, run_id)).status == target.value
        [event] = log
        assert (event.seq, event.kind) == (4, "run_status_changed")
        assert event.data["status"] == target.value
        assert event.data["previous"] == status.value
    else:
        assert body["data"] is None
        message = body["errors"][0]["message"]
        assert message.startswith("cannot ")
        assert f"a {status.value} run (only " in message
        assert (await stored(engine, run_id)).status == status.value
        assert log == []


async def test_create_then_start_then_finish_records_times_output_and_a_gap_free_log(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    create = """mutation ($input: CreateRunInput!) { createRun(input: $input) {
        id status agent userId conversationId tags input metadata } }"""
    created = (
        await data(
            client,
            create,
            key,
            input={
                "agent": "support-bot",
                "input": {"q": "hi"},
                "userId": "u-1",
                "conversationId": "c-1",
                "tags": ["api"],
                "metadata": {"source": "test"},
            },
        )
    )["createRun"]
    run_id = created["id"]
    started = (await data(client, MUTATIONS["start"], key, id=run_id))["startRun"]
    finished = (
        await data(
            client,
            MUTATIONS["finish"],
            key,
            id=run_id,
            input={"status": "PARTIAL", "output": {"a": 1}, "errorCode": "E1", "errorMessage": "m"},
        )
    )["finishRun"]

    assert created["status"] == "PENDING"
    assert {k: created[k] for k in ("agent", "userId", "conversationId", "tags")} == {
        "agent": "support-bot",
        "userId": "u-1",
        "conversationId": "c-1",
        "tags": ["api"],
    }
    assert created["input"] == {"q": "hi"} and created["metadata"] == {"source": "test"}
    assert started["status"] == "RUNNING" and started["startedAt"] is not None
    assert finished["status"] == "PARTIAL" and finished["finishedAt"] is not None
    assert (finished["output"], finished["errorCode"], finished["errorMessage"]) == (
        {"a": 1},
        "E1",
        "m",
    )
    log = await events(engine, created["id"])
    assert [(e.seq, e.kind, e.data.get("status")) for e in log] == [
        (1, "run_created", "pending"),
        (2, "run_status_changed", "running"),
        (3, "run_status_changed", "partial"),
    ]


async def test_a_review_cycle_keeps_the_notes_and_a_rejection_fails_the_run(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    [run_id] = await add_runs(engine, key.org_id, 1, status=S.RUNNING.value)
    rid = str(run_id)
    await data(client, MUTATIONS["request"], key, id=rid, note="check the refund amount")
    await data(client, MUTATIONS["approve"], key, id=rid, note="looks right")
    await data(client, MUTATIONS["request"], key, id=rid, note="second look")
    rejected = (await data(client, MUTATIONS["reject"], key, id=rid, note="wrong customer"))[
        "rejectReview"
    ]
    document = """query ($id: ID!) { run(id: $id) { events { nodes { seq kind data } } } }"""

    log = (await data(client, document, key, id=rid))["run"]["events"]["nodes"]

    assert rejected["status"] == "FAILED"
    assert (rejected["errorCode"], rejected["errorMessage"]) == (
        "review_rejected",
        "wrong customer",
    )
    assert [(e["seq"], e["kind"], e["data"]["action"], e["data"]["note"]) for e in log] == [
        (1, "RUN_STATUS_CHANGED", "request review for", "check the refund amount"),
        (2, "RUN_STATUS_CHANGED", "approve", "looks right"),
        (3, "RUN_STATUS_CHANGED", "request review for", "second look"),
        (4, "RUN_STATUS_CHANGED", "reject", "wrong customer"),
    ]


async def test_finishing_with_a_status_that_is_not_an_ending_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    [run_id] = await add_runs(engine, key.org_id, 1, status=S.RUNNING.value)

    body = await query(
        client, MUTATIONS["finish"], key, id=str(run_id), input={"status": "NEEDS_REVIEW"}
    )

    assert body["errors"][0]["message"].startswith("a run finishes as COMPLETED, PARTIAL or FAILED")
    assert (await stored(engine, run_id)).status == S.RUNNING.value


@pytest.mark.parametrize("action", list(MUTATIONS))
async def test_an_unknown_run_id_is_a_not_found_error(
    client: httpx.AsyncClient, key: IssuedKey, action: str
) -> None:
    for run_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        body = await query(client, MUTATIONS[action], key, id=run_id)
        assert body["errors"][0]["message"] == f"no run with id {run_id!r}"


async def test_a_transition_notifies_listeners_the_way_the_recorder_does(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey, database_url: str
) -> None:
    [run_id] = await add_runs(engine, key.org_id, 1, status=S.PENDING.value, last_event_seq=7)
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(driver_dsn(database_url))
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[3]))
        await data(client, MUTATIONS["start"], key, id=str(run_id))
        payload = json.loads(await asyncio.wait_for(received.get(), timeout=10))
    finally:
        await listener.close()

    assert payload == {"runs": [[str(key.org_id), str(run_id), 8, 8]]}


async def test_concurrent_transitions_on_one_run_allocate_distinct_seqs(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    runs = await add_runs(engine, key.org_id, 1, status=S.RUNNING.value)
    rid = str(runs[0])

    results = await asyncio.gather(
        *(query(client, MUTATIONS["cancel"], key, id=rid) for _ in range(5))
    )

    assert sum("errors" not in r for r in results) == 1  # one wins; the rest see CANCELLED
    assert [e.seq for e in await events(engine, runs[0])] == [1]


async def test_a_create_with_a_blank_agent_or_a_non_object_metadata_is_refused(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    create = "mutation ($input: CreateRunInput!) { createRun(input: $input) { id } }"

    blank = await query(client, create, key, input={"agent": " "})
    listy = await query(client, create, key, input={"agent": "a", "metadata": [1]})
    nul = await query(client, create, key, input={"agent": "a", "input": {"k": ["\x00"]}})

    assert blank["errors"][0]["message"] == "agent must be 1 to 200 characters, not blank"
    assert listy["errors"][0]["message"] == "metadata must be a JSON object"
    assert nul["errors"][0]["message"] == "input must not contain NUL characters"
