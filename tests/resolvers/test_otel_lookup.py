"""Runs by OpenTelemetry trace id and steps by span id over GraphQL: found in the caller's
organization only, null for unknown ids, an error for ids that are not hex of the right
length; steps recorded without OTLP have no OTel ids."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import data, new_org_key, query, serve
from tests._rows import insert, run_row, step_row
from tracewire.api.keys import IssuedKey
from tracewire.db.otel_ids import run_id_for, step_id_for

TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN = bytes.fromhex("eee19b7ec3c1b174")

RUN = "query ($t: String!) { runByTraceId(traceId: $t) { id agent } }"
STEP = """query ($t: String!, $s: String!) {
  stepBySpanId(traceId: $t, spanId: $s) { id name otelTraceId otelSpanId run { id } } }"""


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


async def _traced_run(engine: AsyncEngine, key: IssuedKey) -> tuple[uuid.UUID, uuid.UUID]:
    """A run and step stored under the ids OTLP ingestion gives `TRACE` and `SPAN`."""
    run = run_row(key.org_id, id=run_id_for(key.org_id, TRACE), agent="otel-agent")
    otel = {"trace_id": TRACE.hex(), "span_id": SPAN.hex()}
    step = step_row(run, 1, "chat", id=step_id_for(run.id, SPAN), payload={"otel": otel})
    await insert(engine, run, step)
    return run.id, step.id


async def test_a_run_and_step_are_found_by_their_trace_and_span_ids(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run_id, step_id = await _traced_run(engine, key)

    run = (await data(client, RUN, key, t=TRACE.hex()))["runByTraceId"]
    step = (await data(client, STEP, key, t=TRACE.hex().upper(), s=SPAN.hex()))["stepBySpanId"]

    assert run == {"id": str(run_id), "agent": "otel-agent"}
    assert step == {
        "id": str(step_id),
        "name": "chat",
        "otelTraceId": TRACE.hex(),
        "otelSpanId": SPAN.hex(),
        "run": {"id": str(run_id)},
    }


async def test_another_organization_cannot_look_up_the_trace(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key, other = await new_org_key(engine), await new_org_key(engine)
    await _traced_run(engine, key)

    assert (await data(client, RUN, other, t=TRACE.hex()))["runByTraceId"] is None
    assert (await data(client, STEP, other, t=TRACE.hex(), s=SPAN.hex()))["stepBySpanId"] is None


async def test_unknown_trace_and_span_ids_find_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    await _traced_run(engine, key)

    assert (await data(client, RUN, key, t="0" * 31 + "1"))["runByTraceId"] is None
    assert (await data(client, STEP, key, t=TRACE.hex(), s="0" * 15 + "1"))["stepBySpanId"] is None


@pytest.mark.parametrize(
    ("trace_id", "span_id", "message"),
    [
        ("5b8e-fff7", SPAN.hex(), "traceId must be 32 hexadecimal digits, not '5b8e-fff7'"),
        ("z" * 32, SPAN.hex(), "traceId must be 32 hexadecimal digits"),
        (TRACE.hex(), "eee19b7e", "spanId must be 16 hexadecimal digits, not 'eee19b7e'"),
        (TRACE.hex(), " " + SPAN.hex()[1:], "spanId must be 16 hexadecimal digits"),
    ],
)
async def test_a_malformed_id_is_an_error_that_says_what_is_expected(
    client: httpx.AsyncClient, engine: AsyncEngine, trace_id: str, span_id: str, message: str
) -> None:
    key = await new_org_key(engine)

    body = await query(client, STEP, key, t=trace_id, s=span_id)

    assert body["data"] == {"stepBySpanId": None}
    assert message in body["errors"][0]["message"]
    if span_id == SPAN.hex():
        run = await query(client, RUN, key, t=trace_id)
        assert message in run["errors"][0]["message"]


async def test_a_step_recorded_without_otlp_has_no_otel_ids(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    step = step_row(run, 1, "plan", payload={"otel": "not a span"})
    await insert(engine, run, step)
    document = "query ($id: ID!) { step(id: $id) { otelTraceId otelSpanId spanEvents { name } } }"

    found = (await data(client, document, key, id=str(step.id)))["step"]

    assert found == {"otelTraceId": None, "otelSpanId": None, "spanEvents": []}
