"""The recorder mirrors what it records to Langfuse through the real `langfuse` SDK: pointed by
the `LANGFUSE_*` variables at a local stand-in for Langfuse's OTLP endpoint, the spans arrive
as a trace with the run's tree, and the run keeps the trace URL. A Langfuse that is away
changes nothing in what Tracewire records."""

import asyncio
import base64
import gzip
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._poll import wait_until_blocking
from tracewire.db.engine import session_factory
from tracewire.db.models import Run, Step
from tracewire.recorder import Recorder, RecorderSettings, _langfuse_mirror
from tracewire.recorder._langfuse_mirror import LangfuseMirror, LangfuseTarget
from tracewire.recorder._records import RUN_UPDATED, Batch, RunUpdated

PROJECT_ID = "proj-mirror"


@pytest.fixture(autouse=True, scope="module")
def _forget_langfuse_clients() -> Iterator[None]:
    """The SDK keeps its clients per process; left behind, the mirror's would make the
    `@observe` decorator of later tests refuse to pick one ("multiple clients")."""
    yield
    from langfuse._client.resource_manager import LangfuseResourceManager

    with _langfuse_mirror._exports_lock:
        _langfuse_mirror._exports.clear()
    LangfuseResourceManager.reset()


@dataclass
class LangfuseStandIn:
    """What Langfuse's OTLP endpoint and project lookup received."""

    url: str
    spans: list[dict[str, Any]] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        wait_until_blocking(
            lambda: len(self.spans) >= count,
            what=lambda: f"{len(self.spans)} of {count} spans arrived",
        )
        return list(self.spans)


@pytest.fixture
def langfuse() -> Iterator[LangfuseStandIn]:
    received = LangfuseStandIn("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            assert self.path == "/api/public/otel/v1/traces", self.path
            received.authorizations.add(self.headers["Authorization"])
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    received.spans.extend(_span(s) for s in scope_spans.spans)
            self._answer(ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

        def do_GET(self) -> None:
            assert self.path.startswith("/api/public/projects"), self.path
            received.authorizations.add(self.headers["Authorization"])
            org = {"id": "org-1", "name": "acme"}
            project = {"id": PROJECT_ID, "name": "agents", "organization": org, "metadata": {}}
            self._answer(json.dumps({"data": [project]}).encode(), "application/json")

        def _answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def _span(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex() or None,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "attributes": {a.key: _value(a.value) for a in span.attributes},
    }


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _recorder(database_url: str, host: str) -> tuple[Recorder, str]:
    """A recorder configured the way an agent's environment configures it."""
    public_key = f"pk-lf-{uuid.uuid4().hex[:12]}"  # the SDK keeps one client per key
    env = {
        "LANGFUSE_PUBLIC_KEY": public_key,
        "LANGFUSE_SECRET_KEY": "sk-lf-mirror",
        "LANGFUSE_HOST": host,
    }
    settings = RecorderSettings.from_env(
        env, database_url=database_url, org=f"org-{uuid.uuid4().hex[:8]}"
    )
    return Recorder(settings=settings), public_key


def _record_a_support_run(rec: Recorder) -> uuid.UUID:
    with rec.run(
        "support-bot",
        input={"question": "where is 42?"},
        user_id="user-1",
        conversation_id="conv-1",
        tags=["beta"],
    ) as run:
        with run.node("plan"):
            run.thought("look the order up first")
            with run.llm("gpt-4o-mini", vendor="openai", input="where is 42?") as llm:
                llm.output = "call orders_api"
                llm.input_tokens, llm.output_tokens, llm.cost = 1000, 100, 0.00021
        with run.tool_call("orders_api", {"id": 42}) as tool:
            tool.fail(LookupError("order 42 not found"))
        run.finish(output="sorry, no such order")
    return run.id


async def _stored(engine: AsyncEngine, run_id: uuid.UUID) -> tuple[Run, list[Step]]:
    async with session_factory(engine)() as session:
        run = await session.get(Run, run_id)
        steps = list(await session.scalars(select(Step).where(Step.run_id == run_id)))
    assert run is not None
    return run, steps


async def test_a_mirrored_run_arrives_in_langfuse_as_one_trace_and_keeps_its_trace_url(
    database_url: str, engine: AsyncEngine, langfuse: LangfuseStandIn
) -> None:
    rec, public_key = _recorder(database_url, langfuse.url)
    run_id = _record_a_support_run(rec)
    assert await asyncio.to_thread(rec.close, 15)
    assert rec.stats().mirrored >= 10  # opened, closed, 4 steps started and ended...
    assert rec.stats().mirror_dropped == 0

    spans = await asyncio.to_thread(langfuse.wait_for, 5)
    run, steps = await _stored(engine, run_id)
    assert run.external_trace_url == f"{langfuse.url}/project/{PROJECT_ID}/traces/{run_id.hex}"
    basic = base64.b64encode(f"{public_key}:sk-lf-mirror".encode()).decode()
    assert langfuse.authorizations == {f"Basic {basic}"}

    assert {s["trace_id"] for s in spans} == {run_id.hex}  # one trace, the run's id
    by_name = {s["name"]: s for s in spans}
    root, plan, thought, llm, tool = (
        by_name[n] for n in ("support-bot", "plan", "thought", "gpt-4o-mini", "orders_api")
    )
    assert root["parent_span_id"] is None
    assert plan["parent_span_id"] == tool["parent_span_id"] == root["span_id"]
    assert thought["parent_span_id"] == llm["parent_span_id"] == plan["span_id"]

    attrs = root["attributes"]
    assert attrs["langfuse.observation.type"] == "agent"
    assert (attrs["langfuse.trace.name"], attrs["user.id"], attrs["session.id"]) == (
        "support-bot",
        "user-1",
        "conv-1",
    )
    assert attrs["langfuse.trace.tags"] == ["beta"]
    assert json.loads(attrs["langfuse.observation.input"]) == {"question": "where is 42?"}
    assert attrs["langfuse.observation.output"] == "sorry, no such order"  # text stays text

    gen = llm["attributes"]
    assert gen["langfuse.observation.type"] == "generation"
    assert gen["langfuse.observation.model.name"] == "gpt-4o-mini"
    assert json.loads(gen["langfuse.observation.usage_details"]) == {"input": 1000, "output": 100}
    assert json.loads(gen["langfuse.observation.cost_details"]) == {"total": 0.00021}
    assert gen["langfuse.observation.output"] == "call orders_api"

    failed = tool["attributes"]
    assert failed["langfuse.observation.type"] == "tool"
    assert failed["langfuse.observation.level"] == "ERROR"
    assert failed["langfuse.observation.status_message"] == "order 42 not found"
    assert "LookupError: order 42 not found" in failed["langfuse.observation.metadata.traceback"]
    assert thought["attributes"]["langfuse.observation.type"] == "event"

    # The spans carry the recorded times, not the time the mirror sent them.
    stored = {s.name: s for s in steps}
    for name in ("plan", "gpt-4o-mini", "orders_api"):
        step = stored[name]
        assert step.ended_at is not None
        assert abs(by_name[name]["start"] - _nanos(step.started_at)) <= 1000
        assert abs(by_name[name]["end"] - _nanos(step.ended_at)) <= 1000


async def test_a_langfuse_that_is_away_changes_nothing_in_what_is_recorded(
    database_url: str, engine: AsyncEngine
) -> None:
    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    rec, _ = _recorder(database_url, dead)
    run_id = _record_a_support_run(rec)
    started = time.monotonic()
    assert await asyncio.to_thread(rec.close, 15)
    # The mirror's share of close is bounded: at most _MIRROR_CLOSE_S (5 s) to drain and as
    # much to stop, with room for a loaded machine, and far below the 15 s close allowed.
    assert time.monotonic() - started < 12

    run, steps = await _stored(engine, run_id)
    assert (run.status, run.output, run.step_count, run.error_count) == (
        "completed",
        "sorry, no such order",
        4,
        1,
    )
    assert sorted(s.name for s in steps) == ["gpt-4o-mini", "orders_api", "plan", "thought"]
    assert run.external_trace_url is None


def _nanos(at: datetime) -> int:
    return round(at.timestamp() * 1e9)


def test_a_mirror_that_falls_behind_drops_whole_batches_and_counts_them() -> None:
    target = LangfuseTarget(f"pk-lf-{uuid.uuid4().hex[:12]}", "sk", "http://127.0.0.1:9")
    batch = Batch("b", [RunUpdated(RUN_UPDATED, uuid.uuid4().hex, {})] * 8)
    # Holding the lock its thread needs first keeps the mirror from draining its backlog.
    with _langfuse_mirror._exports_lock:
        mirror = LangfuseMirror(target, lambda run, url: None, max_backlog=10)
        for _ in range(3):
            mirror.offer(batch)  # returns at once: only the first fits the budget
        assert mirror.dropped == 16
    assert mirror.drain(10)
    mirror.close(5)
    assert (mirror.mirrored, mirror.dropped) == (8, 16)
