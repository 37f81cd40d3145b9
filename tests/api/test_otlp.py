"""`POST /v1/traces`: OTLP/HTTP bodies from the real OpenTelemetry SDK become runs and steps,
with GenAI and OpenInference attributes mapped; bad bodies get OTLP's status codes."""

import base64
import gzip
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.trace import Status as SpanStatus
from opentelemetry.trace import StatusCode, Tracer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, data, new_org_key, serve
from tests._otlp import json_body, make_spans, protobuf_body, trace_id_of, wait_for_steps
from tests._poll import wait_until
from tracewire.api.keys import IssuedKey
from tracewire.api.otlp import run_id_for
from tracewire.db.engine import session_factory
from tracewire.db.models import ApiKey, Run, Step

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


@pytest.fixture
async def key(engine: AsyncEngine) -> IssuedKey:
    return await new_org_key(engine)


def _agent_trace(tracer: Tracer) -> None:
    """An agent span with a GenAI chat call, an OpenInference tool call and a failed step."""
    with tracer.start_as_current_span("invoke_agent shop") as agent:
        agent.set_attributes(
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-1"}
        )
        agent.set_attribute("user.id", "user-9")
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                    "gen_ai.input.messages": '[{"role": "user", "content": "where is 42?"}]',
                    "gen_ai.output.messages": '[{"role": "assistant", "content": "shipped"}]',
                }
            )
        with tracer.start_as_current_span("lookup") as tool:
            tool.set_attributes(
                {
                    "openinference.span.kind": "TOOL",
                    "input.value": '{"order": 42}',
                    "output.value": "shipped",
                    "llm.token_count.prompt": 5,
                }
            )
        with tracer.start_as_current_span("validate") as check:
            try:
                raise RuntimeError("address missing")
            except RuntimeError as error:
                check.record_exception(error)
                check.set_status(SpanStatus(StatusCode.ERROR, "address missing"))


async def _check_agent_trace(engine: AsyncEngine, key: IssuedKey, trace_id: bytes) -> None:
    run, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id), 4)
    assert (run.agent, run.conversation_id, run.user_id) == (
        "invoke_agent shop",
        "conv-1",
        "user-9",
    )
    assert run.metadata_["otel"]["resource"]["service.name"] == "shop-agent"
    by_name = {s.name: s for s in steps}
    agent, chat, tool, check = (
        by_name[n] for n in ("invoke_agent shop", "chat gpt-4o-mini", "lookup", "validate")
    )
    assert agent.parent_id is None
    assert {chat.parent_id, tool.parent_id, check.parent_id} == {agent.id}
    assert (chat.type, chat.model, chat.vendor) == ("llm_call", "gpt-4o-mini", "openai")
    assert (chat.input_tokens, chat.output_tokens) == (1000, 100)
    assert float(chat.cost or 0) == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
    assert chat.input == [{"role": "user", "content": "where is 42?"}]
    assert (tool.type, tool.input, tool.output, tool.input_tokens) == (
        "tool_call",
        {"order": 42},
        "shipped",
        5,
    )
    assert (check.status, check.error_code, check.error_message) == (
        "failed",
        "RuntimeError",
        "address missing",
    )
    assert "Traceback" in check.payload["otel"]["events"][0]["attributes"]["exception.stacktrace"]
    assert chat.payload["otel"]["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.payload["otel"]["scope"]["name"] == "tests.otlp"
    assert run.status == "completed"


async def test_a_protobuf_trace_becomes_a_run_whose_spans_are_a_step_tree(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)
    response = await client.post(
        "/v1/traces", content=protobuf_body(spans), headers={**PROTOBUF, **bearer(key)}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 0
    await _check_agent_trace(engine, key, trace_id_of(spans))


async def test_a_gzipped_json_trace_is_recorded_the_same_way(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)
    body = gzip.compress(orjson.dumps(json_body(spans)))
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **bearer(key)}
    response = await client.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    await _check_agent_trace(engine, key, trace_id_of(spans))


async def test_a_trace_sent_in_two_requests_is_one_run_with_children_under_their_parent(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)  # finished children first, the root last
    headers = {**PROTOBUF, **bearer(key)}
    root = [s for s in spans if s.parent is None]
    children = [s for s in spans if s.parent is not None]
    for part in (root, children):
        assert (
            await client.post("/v1/traces", content=protobuf_body(part), headers=headers)
        ).status_code == 200
    _, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 4)
    (root_step,) = [s for s in steps if s.parent_id is None]
    assert all(s.parent_id == root_step.id for s in steps if s is not root_step)


async def test_children_sent_before_their_root_find_it_and_the_root_completes_the_run(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)
    headers = {**PROTOBUF, **bearer(key)}
    root = [s for s in spans if s.parent is None]
    children = [s for s in spans if s.parent is not None]
    for part in (children, root):  # the root span ends last, so exporters send it last
        response = await client.post("/v1/traces", content=protobuf_body(part), headers=headers)
        assert response.status_code == 200
    run_id = run_id_for(key.org_id, trace_id_of(spans))
    _, steps = await wait_for_steps(engine, run_id, 4)
    run = await _completed_run(engine, run_id)
    (root_step,) = [s for s in steps if s.name == "invoke_agent shop"]
    assert root_step.parent_id is None
    assert all(s.parent_id == root_step.id for s in steps if s is not root_step)
    # The first request (children only) opened the run; the root's request named it.
    (root_span,) = root
    assert run.agent == "invoke_agent shop"
    assert run.started_at is not None and run.finished_at is not None
    assert abs(run.started_at - _at(root_span.start_time)) <= _ONE_MICROSECOND
    assert abs(run.finished_at - _at(root_span.end_time)) <= _ONE_MICROSECOND


async def test_steps_carry_the_spans_own_times_and_the_exception_stack_trace(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)
    response = await client.post(
        "/v1/traces", content=protobuf_body(spans), headers={**PROTOBUF, **bearer(key)}
    )
    assert response.status_code == 200
    _, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 4)
    by_name = {s.name: s for s in steps}
    for span in spans:
        step = by_name[span.name]
        assert step.ended_at is not None
        assert abs(step.started_at - _at(span.start_time)) <= _ONE_MICROSECOND
        assert abs(step.ended_at - _at(span.end_time)) <= _ONE_MICROSECOND
        assert span.start_time is not None and span.end_time is not None
        assert step.latency_ms == pytest.approx((span.end_time - span.start_time) / 1e6, abs=0.01)
    check = by_name["validate"]
    assert check.error_traceback is not None
    assert check.error_traceback.startswith("Traceback (most recent call last)")
    assert "RuntimeError: address missing" in check.error_traceback


async def test_a_trace_sent_twice_is_recorded_once(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)
    headers = {**PROTOBUF, **bearer(key)}
    for _ in range(2):  # an exporter retrying a request whose answer it did not get
        response = await client.post("/v1/traces", content=protobuf_body(spans), headers=headers)
        assert response.status_code == 200
    later = make_spans(_agent_trace)
    response = await client.post("/v1/traces", content=protobuf_body(later), headers=headers)
    assert response.status_code == 200
    await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(later)), 4)
    run, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 4)
    assert len(steps) == 4
    assert (run.step_count, run.input_tokens, run.error_count) == (4, 1005, 1)


# Times travel as epoch seconds in a float, and Postgres keeps microseconds.
_ONE_MICROSECOND = timedelta(microseconds=1)


async def _completed_run(engine: AsyncEngine, run_id: uuid.UUID) -> Run:
    async def completed() -> Run | None:
        async with session_factory(engine)() as session:
            run = await session.get(Run, run_id)
        return run if run is not None and run.status == "completed" else None

    return await wait_until(completed, what=f"run {run_id} completed")


def _at(nanos: int | None) -> datetime:
    assert nanos is not None
    return datetime.fromtimestamp(nanos / 1e9, UTC)


async def test_spans_with_invalid_ids_are_rejected_as_a_partial_success(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_trace)
    document = json_body(spans)
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "0000000000000000"
    response = await client.post("/v1/traces", json=document, headers=bearer(key))
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 3)


async def _steps_of_org(engine: AsyncEngine, org_id: uuid.UUID) -> int:
    async with session_factory(engine)() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Step).where(Step.org_id == org_id)
            )
            or 0
        )


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (PROTOBUF, b"\xff\xff\xff not protobuf", 400),
        ({"Content-Type": "application/json"}, b"{not json", 400),
        ({"Content-Type": "application/json"}, b'{"resourceSpans": 7}', 400),
        ({**PROTOBUF, "Content-Encoding": "gzip"}, b"not gzip at all", 400),
        ({"Content-Type": "text/plain"}, b"hello", 415),
        ({**PROTOBUF, "Content-Encoding": "br"}, b"x", 415),
        (PROTOBUF, b"\x00" * (16 * 1024 * 1024 + 1), 413),
        (
            {**PROTOBUF, "Content-Encoding": "gzip"},
            gzip.compress(b"\x00" * (17 * 1024 * 1024)),
            413,
        ),
    ],
    ids=[
        "bad-protobuf",
        "bad-json",
        "bad-json-shape",
        "bad-gzip",
        "text",
        "brotli",
        "too-big",
        "gzip-bomb",
    ],
)
async def test_bad_bodies_get_their_status_code_and_write_nothing(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    key: IssuedKey,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    response = await client.post("/v1/traces", content=body, headers={**headers, **bearer(key)})
    assert response.status_code == status, response.text
    assert await _steps_of_org(engine, key.org_id) == 0


async def test_requests_without_a_valid_key_are_refused(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    body = protobuf_body(make_spans(_agent_trace))
    for headers in ({}, bearer("sk-tw-wrong"), {"Authorization": "Basic bm90OmtleQ=="}):
        response = await client.post("/v1/traces", content=body, headers={**PROTOBUF, **headers})
        assert response.status_code == 401
        # In the request's own format, as OTLP asks: a protobuf google.rpc.Status.
        assert response.headers["content-type"] == "application/x-protobuf"
        status = Status.FromString(response.content)
        assert status.code == 16 and status.message


async def test_one_orgs_trace_never_lands_in_or_shows_in_another_org(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    other = await new_org_key(engine)
    spans = make_spans(_agent_trace)
    for sender in (key, other):  # the same trace id, sent by both organizations
        response = await client.post(
            "/v1/traces", content=protobuf_body(spans), headers={**PROTOBUF, **bearer(sender)}
        )
        assert response.status_code == 200
    trace_id = trace_id_of(spans)
    mine, _ = await wait_for_steps(engine, run_id_for(key.org_id, trace_id), 4)
    theirs, _ = await wait_for_steps(engine, run_id_for(other.org_id, trace_id), 4)
    assert (mine.org_id, theirs.org_id) == (key.org_id, other.org_id)
    assert await _steps_of_org(engine, key.org_id) == await _steps_of_org(engine, other.org_id) == 4
    seen = await data(client, "query($id: ID!) { run(id: $id) { id } }", other, id=str(mine.id))
    assert seen == {"run": None}
    async with session_factory(engine)() as session:
        assert (await session.get(Run, mine.id)) is not None


def _basic(public_key: str, secret: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{public_key}:{secret}".encode()).decode()
    }


async def test_the_langfuse_endpoint_takes_a_basic_key_pair_of_one_org_only(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    other = await new_org_key(engine)
    spans = make_spans(_agent_trace)
    path = "/api/public/otel/v1/traces"
    for public_key, secret in ((key.public_key, other.secret), (other.public_key, key.secret)):
        response = await client.post(
            path, content=protobuf_body(spans), headers={**PROTOBUF, **_basic(public_key, secret)}
        )
        assert response.status_code == 401
    response = await client.post(
        path,
        content=protobuf_body(spans),
        headers={**PROTOBUF, **_basic(key.public_key, key.secret)},
    )
    assert response.status_code == 200
    await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 4)
    assert await _steps_of_org(engine, other.org_id) == 0
    projects = (
        await client.get("/api/public/projects", headers=_basic(other.public_key, other.secret))
    ).json()
    assert [p["id"] for p in projects["data"]] == [str(other.org_id)]


async def test_a_key_pair_used_only_by_a_langfuse_client_shows_when_it_was_last_used(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    fresh = await new_org_key(engine)
    response = await client.get(
        "/api/public/projects", headers=_basic(fresh.public_key, fresh.secret)
    )
    assert response.status_code == 200
    async with session_factory(engine)() as session:
        used = await session.scalar(
            select(ApiKey.last_used_at).where(ApiKey.public_key == fresh.public_key)
        )
    assert used is not None
