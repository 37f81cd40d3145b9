"""QA sampling: a draw picks distinct random subjects matching the filter into a bucket,
never the same subject twice per bucket; verdicts, ticks and notes are recorded; samples
list by bucket and verdict."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import data, new_org_key, query, serve
from tests._rows import insert, run_row, step_row
from tracewire.db.enums import RunStatus, StepType

DRAW = """mutation ($input: DrawQaSamplesInput!) { drawQaSamples(input: $input) {
    id bucket subject result checks { name passed } run { id status } step { id type } } }"""
RECORD = """mutation ($input: RecordQaResultInput!) { recordQaResult(input: $input) {
    id result notes reviewedAt checks { name passed } } }"""
LIST = """query ($bucket: String, $result: QaResult, $first: Int!, $after: String) {
    qaSamples(bucket: $bucket, result: $result, first: $first, after: $after) {
    totalCount nodes { id bucket result } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


async def test_a_draw_takes_distinct_matching_runs_and_tops_up_without_repeats(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    done = [run_row(key.org_id, status=RunStatus.COMPLETED.value) for _ in range(7)]
    failed = [run_row(key.org_id, status=RunStatus.FAILED.value) for _ in range(3)]
    await insert(engine, *done, *failed)
    draw = {"bucket": "High", "size": 4, "runs": {"status": ["COMPLETED"]}}

    first = (await data(client, DRAW, key, input=draw))["drawQaSamples"]
    second = (await data(client, DRAW, key, input=draw))["drawQaSamples"]
    third = (await data(client, DRAW, key, input=draw))["drawQaSamples"]

    drawn = [s["run"]["id"] for s in first + second]
    assert (len(first), len(second), third) == (4, 3, [])  # 7 completed runs in all
    assert sorted(drawn) == sorted(str(r.id) for r in done)
    assert {s["run"]["status"] for s in first + second} == {"COMPLETED"}
    assert all(s["subject"] == "RUN" and s["step"] is None for s in first)
    assert first[0]["result"] == "NEEDS_REVIEW"
    assert [c["name"] for c in first[0]["checks"]] == ["correct", "complete", "grounded", "safe"]
    other_bucket = (await data(client, DRAW, key, input={**draw, "bucket": "Low"}))["drawQaSamples"]
    assert len(other_bucket) == 4  # a bucket of its own may take the same runs again


async def test_a_step_draw_takes_steps_of_the_asked_types_with_a_custom_checklist(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    steps = [
        step_row(run, i, f"s{i}", type=(StepType.LLM_CALL if i % 2 else StepType.NODE).value)
        for i in range(1, 11)
    ]
    await insert(engine, run, *steps)
    draw = {
        "bucket": "llm",
        "size": 10,
        "subject": "STEP",
        "stepTypes": ["LLM_CALL"],
        "checklist": ["domain", "rationale"],
    }

    samples = (await data(client, DRAW, key, input=draw))["drawQaSamples"]

    assert len(samples) == 5
    assert {s["step"]["type"] for s in samples} == {"LLM_CALL"}
    assert {s["subject"] for s in samples} == {"STEP"}
    assert samples[0]["checks"] == [
        {"name": "domain", "passed": None},
        {"name": "rationale", "passed": None},
    ]


async def test_a_verdict_with_ticks_and_notes_is_recorded_and_listed_by_result(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    await insert(engine, *[run_row(key.org_id) for _ in range(3)])
    samples = (await data(client, DRAW, key, input={"bucket": "b", "size": 3}))["drawQaSamples"]
    verdict = {
        "sampleId": samples[0]["id"],
        "result": "FAIL",
        "checks": [{"name": "correct", "passed": False}, {"name": "safe", "passed": True}],
        "notes": "wrong refund amount",
    }

    recorded = (await data(client, RECORD, key, input=verdict))["recordQaResult"]
    failed = (await data(client, LIST, key, bucket="b", result="FAIL", first=10))["qaSamples"]
    pending = (await data(client, LIST, key, bucket="b", result="NEEDS_REVIEW", first=1))[
        "qaSamples"
    ]

    assert recorded["result"] == "FAIL" and recorded["notes"] == "wrong refund amount"
    assert recorded["reviewedAt"] is not None
    assert recorded["checks"] == verdict["checks"]
    assert failed["totalCount"] == 1 and failed["nodes"][0]["id"] == samples[0]["id"]
    assert pending["totalCount"] == 2 and pending["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        ({"bucket": "b", "size": 0}, "size must be between 1 and 100, got 0"),
        ({"bucket": "b", "size": 101}, "size must be between 1 and 100, got 101"),
        ({"bucket": " ", "size": 1}, "bucket must be 1 to 100 characters, not blank"),
        ({"bucket": "b", "size": 1, "checklist": ["a", "a"]}, "checks must have distinct names"),
    ],
)
async def test_an_invalid_draw_is_a_clear_error(
    client: httpx.AsyncClient, engine: AsyncEngine, draw: dict[str, object], message: str
) -> None:
    key = await new_org_key(engine)

    body = await query(client, DRAW, key, input=draw)

    assert body["errors"][0]["message"].startswith(message)


async def test_recording_on_an_unknown_sample_is_not_found(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    unknown = "00000000-0000-0000-0000-000000000000"

    body = await query(client, RECORD, key, input={"sampleId": unknown, "result": "PASS"})

    assert body["errors"][0]["message"] == f"no QA sample with id {unknown!r}"
