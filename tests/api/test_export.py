"""CSV and JSONL downloads: a run's events and steps, a filtered run list and QA samples,
authenticated like GraphQL, streamed in chunks, and another org's run is a 404."""

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key, serve
from tests._rows import insert, run_row, step_row
from tracewire.api.export import LINES_PER_CHUNK
from tracewire.db.enums import RunStatus, StepType
from tracewire.db.models import RunEvent


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_a_runs_events_download_as_csv_and_jsonl_in_seq_order(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    count = LINES_PER_CHUNK * 2 + 7  # several chunks
    events = [
        RunEvent(run_id=run.id, seq=seq, org_id=key.org_id, kind="step_started",
                 data={"n": seq, "text": 'quote " and, comma'})
        for seq in range(count, 0, -1)
    ]  # fmt: skip
    await insert(engine, run, *events)

    as_csv = await client.get(f"/export/runs/{run.id}/events.csv", headers=bearer(key))
    as_jsonl = await client.get(f"/export/runs/{run.id}/events.jsonl", headers=bearer(key))

    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert f'filename="run-{run.id}-events.csv"' in as_csv.headers["content-disposition"]
    rows = rows_of(as_csv.text)
    assert [int(r["seq"]) for r in rows] == list(range(1, count + 1))
    assert json.loads(rows[0]["data"]) == {"n": 1, "text": 'quote " and, comma'}
    lines = [json.loads(line) for line in as_jsonl.text.splitlines()]
    assert as_jsonl.headers["content-type"] == "application/x-ndjson"
    assert [line["seq"] for line in lines] == list(range(1, count + 1))
    assert lines[0]["data"]["n"] == 1 and lines[0]["kind"] == "step_started"


async def test_a_runs_steps_download_with_their_usage_and_errors(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    llm = step_row(run, 2, "gpt", type=StepType.LLM_CALL.value, model="gpt-4o", input_tokens=5,
                   cost=Decimal("0.25"), output={"a": 1})  # fmt: skip
    await insert(engine, run, step_row(run, 1, "plan", error_message="x"), llm)

    response = await client.get(f"/export/runs/{run.id}/steps.csv", headers=bearer(key))
    jsonl = await client.get(f"/export/runs/{run.id}/steps.jsonl", headers=bearer(key))

    rows = rows_of(response.text)
    assert [(r["seq"], r["name"], r["error_message"]) for r in rows] == [
        ("1", "plan", "x"),
        ("2", "gpt", ""),
    ]
    assert (rows[1]["model"], rows[1]["input_tokens"], rows[1]["cost"]) == (
        "gpt-4o",
        "5",
        "0.25000000",
    )
    assert json.loads(jsonl.text.splitlines()[1])["cost"] == 0.25


async def test_the_run_list_export_applies_the_filter_newest_first(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    runs = [
        run_row(key.org_id, status=RunStatus.FAILED.value, agent=f"a{i}",
                created_at=run_row(key.org_id).created_at + timedelta(seconds=i),
                started_at=run_row(key.org_id).created_at,
                finished_at=run_row(key.org_id).created_at + timedelta(seconds=2))
        for i in range(3)
    ]  # fmt: skip
    await insert(engine, *runs, run_row(key.org_id, status=RunStatus.COMPLETED.value))

    response = await client.get(
        "/export/runs.csv", params={"status": "failed", "lastHours": "48"}, headers=bearer(key)
    )
    every = await client.get("/export/runs.csv", headers=bearer(key))

    rows = rows_of(response.text)
    assert [r["agent"] for r in rows] == ["a2", "a1", "a0"]
    assert {r["status"] for r in rows} == {"failed"}
    assert rows[0]["duration_ms"] == "2000.0"
    assert len(rows_of(every.text)) == 4


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "exploded"}, "status must be one of"),
        ({"lastHours": "-1"}, "lastHours must be more than 0"),
        ({"from": "yesterday"}, "from must be an ISO 8601 time with a zone"),
        ({"to": "0001-01-02T00:00:00Z", "lastHours": "48"}, "to must be between 1900-01-01"),
    ],
)
async def test_a_bad_filter_is_a_400_with_a_message(
    client: httpx.AsyncClient, engine: AsyncEngine, params: dict[str, str], message: str
) -> None:
    key = await new_org_key(engine)

    response = await client.get("/export/runs.csv", params=params, headers=bearer(key))

    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


async def test_qa_samples_download_by_bucket(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    await insert(engine, *[run_row(key.org_id) for _ in range(3)])
    draw = """mutation { drawQaSamples(input: {bucket: "High", size: 2}) { id } }"""
    await client.post("/graphql", json={"query": draw}, headers=bearer(key))

    response = await client.get("/export/qa.csv", params={"bucket": "High"}, headers=bearer(key))

    rows = rows_of(response.text)
    assert len(rows) == 2 and {r["result"] for r in rows} == {"needs_review"}


async def test_without_a_key_an_export_is_a_401_and_an_unknown_format_a_404(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    await insert(engine, run)

    anonymous = await client.get(f"/export/runs/{run.id}/events.csv")
    bad_key = await client.get("/export/runs.csv", headers=bearer("sk-tw-nope"))
    xml = await client.get(f"/export/runs/{run.id}/events.xml", headers=bearer(key))
    other = await client.get(f"/export/runs/{run.id}/secrets.csv", headers=bearer(key))
    not_uuid = await client.get("/export/runs/zzz/events.csv", headers=bearer(key))

    assert anonymous.status_code == 401 and "missing API key" in anonymous.text
    assert bad_key.status_code == 401
    assert (xml.status_code, other.status_code, not_uuid.status_code) == (404, 404, 404)
