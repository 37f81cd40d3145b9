"""OTLP through the server's one ingest service, against real server processes: repeated
and late spans change rows idempotently and tell subscribers nothing false, a trace whose
root never comes is marked stalled, and a hundred organizations sending at once cost a
bounded number of threads and database connections."""

import asyncio
import gzip
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.trace import Tracer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key
from tests._otlp import make_spans, protobuf_body, trace_id_of, wait_for_steps
from tests._poll import wait_until
from tests._server import ServerProcess, serving
from tracewire.db.engine import session_factory
from tracewire.db.models import Run, RunEvent
from tracewire.db.otel_ids import run_id_for

PROTOBUF = {"Content-Type": "application/x-protobuf"}

pytestmark = pytest.mark.slow


def _trace(tracer: Tracer) -> None:
    with tracer.start_as_current_span("agent"):
        with tracer.start_as_current_span("chat") as chat:
            chat.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"})
        with tracer.start_as_current_span("tool"):
            pass


async def _events(engine: AsyncEngine, run_id: uuid.UUID) -> list[tuple[str, object]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(RunEvent.kind, RunEvent.data).where(RunEvent.run_id == run_id)
            .order_by(RunEvent.seq)
        )  # fmt: skip
        return [(kind, data) for kind, data in rows]


async def _run(engine: AsyncEngine, run_id: uuid.UUID) -> Run | None:
    async with session_factory(engine)() as session:
        return await session.get(Run, run_id)


@pytest.fixture(scope="module")
async def server(database_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    async with serving(database_url, tmp_path_factory.mktemp("otlp"), "--stall-after", "1") as s:
        yield s


async def test_repeated_and_late_spans_add_no_contradictory_run_events(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    spans = make_spans(_trace)
    root = next(s for s in spans if s.parent is None)
    children = [s for s in spans if s.parent is not None]
    late = children[-1:]
    headers = {**PROTOBUF, **bearer(key)}
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        for body in (spans[:1], spans, spans, late):  # a child, all, all again, a child again
            answer = await client.post("/v1/traces", content=protobuf_body(body), headers=headers)
            assert answer.status_code == 200, answer.text
    run_id = run_id_for(key.org_id, trace_id_of(spans))
    run, steps = await wait_for_steps(engine, run_id, 3)
    assert len(steps) == 3 and run.status == "completed" and run.step_count == 3
    kinds = [kind for kind, _ in await _events(engine, run_id)]
    assert kinds.count("run_created") == 1
    assert kinds.count("run_status_changed") == 1  # completed, once
    assert kinds[0] == "run_created" and kinds[-1] in ("run_status_changed", "step_finished")
    assert kinds.count("step_finished") == 3
    assert root.name == "agent"


async def test_a_trace_whose_root_never_arrives_is_marked_stalled(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    spans = make_spans(_trace)
    children = [s for s in spans if s.parent is not None]  # the root stays with its crash
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        answer = await client.post(
            "/v1/traces", content=protobuf_body(children), headers={**PROTOBUF, **bearer(key)}
        )
        assert answer.status_code == 200
    run_id = run_id_for(key.org_id, trace_id_of(spans))

    async def stalled() -> Run | None:
        run = await _run(engine, run_id)
        return run if run is not None and run.status == "stalled" else None

    run = await wait_until(stalled, every=0.1, what=f"run {run_id} marked stalled")
    assert run.step_count == 2
    events = await _events(engine, run_id)
    assert [kind for kind, _ in events].count("run_status_changed") == 1


async def _connections(engine: AsyncEngine, pid: int) -> int:
    """Database connections opened by the server process (its client port's owner)."""
    ports = {c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.raddr}
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT client_port FROM pg_stat_activity WHERE datname = current_database()")
        )
        return sum(1 for (port,) in rows if port in ports)


async def test_a_hundred_organizations_at_once_cost_bounded_threads_and_connections(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    keys = [await new_org_key(engine) for _ in range(100)]
    traces = [make_spans(_trace) for _ in keys]
    async with serving(database_url, tmp_path) as server:
        assert server.process is not None
        process = psutil.Process(server.process.pid)
        async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as client:
            warm = await client.post(  # one organization first: the baseline
                "/v1/traces", content=protobuf_body(traces[0]),
                headers={**PROTOBUF, **bearer(keys[0])},
            )  # fmt: skip
            assert warm.status_code == 200
            threads_before = process.num_threads()
            connections_before = await _connections(engine, process.pid)
            answers = await asyncio.gather(*(
                client.post("/v1/traces", content=protobuf_body(spans),
                            headers={**PROTOBUF, **bearer(key)})
                for key, spans in zip(keys, traces, strict=True)
            ))  # fmt: skip
            assert [a.status_code for a in answers] == [200] * len(keys)
            threads_after = process.num_threads()
            connections_after = await _connections(engine, process.pid)
    print(f"threads {threads_before} -> {threads_after}; "
          f"connections {connections_before} -> {connections_after}")  # fmt: skip
    # One recorder per organization would have added 100 threads and 100 connections.
    assert threads_after <= threads_before + 4
    assert connections_after <= 25  # the pool's ceiling (10 + 10), the listener, the writer
    for key, spans in zip(keys, traces, strict=True):
        run = await _run(engine, run_id_for(key.org_id, trace_id_of(spans)))
        assert run is not None and run.org_id == key.org_id and run.step_count == 3
    async with session_factory(engine)() as session:
        total = await session.scalar(
            select(func.count()).select_from(Run).where(
                Run.org_id.in_([k.org_id for k in keys])
            )
        )  # fmt: skip
    assert total == 100


async def test_a_two_member_gzip_body_stores_the_spans_of_both_members(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    spans = make_spans(_trace)
    # Concatenated protobuf messages merge: the two members make one request of three spans.
    body = gzip.compress(protobuf_body(spans[:1])) + gzip.compress(protobuf_body(spans[1:]))
    headers = {**PROTOBUF, **bearer(key), "Content-Encoding": "gzip"}
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        answer = await client.post("/v1/traces", content=body, headers=headers)

    assert answer.status_code == 200, answer.text
    _, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 3)
    assert sorted(step.name for step in steps) == ["agent", "chat", "tool"]


@pytest.mark.parametrize("garbage", [b"\x00\x00\x00\x00", b"not gzip at all", b"\x1f\x8b"])
async def test_a_gzip_body_with_trailing_garbage_is_refused_and_stores_nothing(
    server: ServerProcess, engine: AsyncEngine, garbage: bytes
) -> None:
    key = await new_org_key(engine)
    spans = make_spans(_trace)
    headers = {**PROTOBUF, **bearer(key), "Content-Encoding": "gzip"}
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        answer = await client.post(
            "/v1/traces", content=gzip.compress(protobuf_body(spans)) + garbage, headers=headers
        )

    assert answer.status_code == 400
    status = Status.FromString(answer.content)
    assert "gzip" in status.message
    assert await _run(engine, run_id_for(key.org_id, trace_id_of(spans))) is None
