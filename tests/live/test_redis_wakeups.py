"""A server on Redis wake-ups (`tracewire serve --notify-url redis://...`) streams live
`runEvents` from every kind of writer of run events: a recorder in another process, the
lifecycle mutations, the stalled-run sweep, OTLP ingestion and the demo agent.

One server serves every case, on a database and a Redis of this module's own. The module
watches both transports while it runs: each case checks that its events were announced on
Redis, and that nothing at all was sent by Postgres NOTIFY, which a server in Redis mode
does not listen to (so what reached the subscriber came through Redis).
"""

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.trace import Tracer
from redis import asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key
from tests._otlp import json_body, make_spans, trace_id_of, wait_for_steps
from tests._poll import wait_until
from tests._redis import private_redis
from tests._server import ServerProcess, serving
from tests._ws import GraphQLSocket, graphql_socket
from tests.conftest import create_database, drop_database
from tracewire.api.keys import IssuedKey
from tracewire.api.otlp import run_id_for
from tracewire.db import notify
from tracewire.db.engine import create_engine, driver_dsn
from tracewire.db.models import Organization, Run

STALL_AFTER_S = 2.0
# Generous: on a loaded machine the demo agent alone can take 20 s to get its first run going.
WAIT_S = 60.0

RUN_EVENTS = """
subscription ($runId: ID!, $afterSeq: Int!) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq kind data }
}
"""


class Transports:
    """Every wake-up sent on this module's Redis and every NOTIFY on its database."""

    def __init__(self, listener: asyncpg.Connection) -> None:
        self.listener = listener
        self.on_redis: list[tuple[uuid.UUID, uuid.UUID, int, int]] = []
        self.notified: list[str] = []

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.notified.append(payload)

    async def redis_announced(self, run_id: uuid.UUID, seq: int) -> None:
        """Wait until a Redis wake-up named `seq` of the run."""
        await wait_until(
            lambda: any(r == run_id and f <= seq <= la for _, r, f, la in self.on_redis),
            within=WAIT_S,
            every=0.01,
            what=f"a Redis wake-up for seq {seq} of {run_id}",
        )

    async def assert_never_notified(self, run_id: uuid.UUID) -> None:
        """No Postgres NOTIFY named the run."""
        # A round trip on the listening connection: a NOTIFY committed before it (every
        # write the case waited for) is delivered before its answer.
        await self.listener.fetchval("SELECT 1")
        await asyncio.sleep(0)
        assert [p for p in self.notified if str(run_id) in p] == []


@pytest.fixture(scope="module")
async def redis_url() -> AsyncIterator[str]:
    async with private_redis() as url:
        yield url


@pytest.fixture(scope="module")
async def wake_database(postgres_server_url: str) -> AsyncIterator[str]:
    # Its own database: the short stall timeout and the demo agent touch no other test's runs.
    url = await create_database(postgres_server_url, "tracewire_wakeups")
    try:
        yield url
    finally:
        await drop_database(postgres_server_url, url)


@pytest.fixture(scope="module")
async def transports(wake_database: str, redis_url: str) -> AsyncIterator[Transports]:
    listener = await asyncpg.connect(driver_dsn(wake_database))
    seen = Transports(listener)
    await listener.add_listener(notify.CHANNEL, seen.on_notify)
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(notify.CHANNEL)

    async def collect() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                seen.on_redis.extend(notify.parse(message["data"].decode()))

    collector = asyncio.create_task(collect())
    try:
        yield seen
    finally:
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
        await listener.close()


@pytest.fixture(scope="module")
async def server(
    wake_database: str,
    redis_url: str,
    transports: Transports,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ServerProcess]:
    args = ("--notify-url", redis_url, "--stall-after", str(STALL_AFTER_S), "--demo")
    workdir = tmp_path_factory.mktemp("wakeups")
    async with serving(wake_database, workdir, *args, "--demo-rate", "4") as process:
        yield process


@pytest.fixture(scope="module")
async def wake_engine(server: ServerProcess, wake_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(wake_database, pool_size=2)  # migrated by the server at startup
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def org() -> str:
    return f"wake-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def key(wake_engine: AsyncEngine, org: str) -> IssuedKey:
    return await new_org_key(wake_engine, org)


async def _subscribe(socket: GraphQLSocket, run_id: uuid.UUID) -> None:
    await socket.subscribe(RUN_EVENTS, {"runId": str(run_id), "afterSeq": 0})


async def _events(socket: GraphQLSocket, until_seq: int) -> list[dict[str, Any]]:
    """Events up to `until_seq`. Received after the subscription's first event (stored,
    so it proves the subscription is in place), they can only have come live."""
    events: list[dict[str, Any]] = []
    while not events or events[-1]["seq"] < until_seq:
        message = await socket.receive(WAIT_S)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        events.append(message["payload"]["data"]["runEvents"])
    return events


async def _graphql(server: ServerProcess, key: IssuedKey, document: str, **variables: Any) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.http_url}/graphql",
            json={"query": document, "variables": variables},
            headers=bearer(key),
            timeout=WAIT_S,
        )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def _create_run(server: ServerProcess, key: IssuedKey) -> uuid.UUID:
    document = "mutation ($input: CreateRunInput!) { createRun(input: $input) { id } }"
    data = await _graphql(server, key, document, input={"agent": "over-http"})
    return uuid.UUID(data["createRun"]["id"])


async def _mutate(server: ServerProcess, key: IssuedKey, mutation: str, run_id: uuid.UUID) -> str:
    document = f"mutation ($id: ID!) {{ {mutation}(id: $id) {{ status }} }}"
    data = await _graphql(server, key, document, id=str(run_id))
    status: str = data[mutation]["status"]
    return status


_AGENT = textwrap.dedent(
    """
    import sys
    from tracewire.recorder import Recorder, RecorderSettings
    database_url, org, notify_url = sys.argv[1:]
    settings = RecorderSettings(
        org=org, notify_url=notify_url, flush_interval=0.01, heartbeat_interval=0.25
    )
    rec = Recorder(database_url, settings=settings)
    run = rec.run("elsewhere")
    assert rec.flush(10)
    print(run.id, flush=True)
    sys.stdin.readline()
    run.info("from another process")
    run.finish()
    assert rec.close(10)
    """
)


async def test_a_recorder_in_another_process_wakes_subscribers_through_redis(
    server: ServerProcess,
    wake_database: str,
    redis_url: str,
    org: str,
    key: IssuedKey,
    transports: Transports,
) -> None:
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _AGENT, wake_database, org, redis_url,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert agent.stdin is not None and agent.stdout is not None
    try:
        line = await asyncio.wait_for(agent.stdout.readline(), WAIT_S)
        run_id = uuid.UUID(line.decode().strip())
        async with graphql_socket(server.ws_url, key.secret) as socket:
            await _subscribe(socket, run_id)
            (created,) = await _events(socket, 1)
            agent.stdin.write(b"go\n")
            await agent.stdin.drain()
            live = await _events(socket, 3)
        assert await asyncio.wait_for(agent.wait(), WAIT_S) == 0
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert created["kind"] == "RUN_CREATED"
    assert [e["kind"] for e in live] == ["STEP_FINISHED", "RUN_STATUS_CHANGED"]
    await transports.redis_announced(run_id, 3)
    await transports.assert_never_notified(run_id)


async def test_lifecycle_mutations_wake_subscribers_through_redis(
    server: ServerProcess, key: IssuedKey, transports: Transports
) -> None:
    run_id = await _create_run(server, key)
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, run_id)
        await _events(socket, 1)
        live = []
        for seq, mutation in enumerate(("startRun", "requestReview", "cancelRun"), start=2):
            await _mutate(server, key, mutation, run_id)
            live += await _events(socket, seq)  # each one before the next mutation
    assert [e["data"]["status"] for e in live] == ["running", "needs_review", "cancelled"]
    await transports.redis_announced(run_id, 4)
    await transports.assert_never_notified(run_id)


async def test_the_stall_sweep_wakes_subscribers_through_redis(
    server: ServerProcess, key: IssuedKey, transports: Transports
) -> None:
    run_id = await _create_run(server, key)
    assert await _mutate(server, key, "startRun", run_id) == "RUNNING"
    async with graphql_socket(server.ws_url, key.secret) as socket:
        await _subscribe(socket, run_id)
        await _events(socket, 2)
        # Nothing touches the run now: the sweep marks it stalled after STALL_AFTER_S.
        (stalled,) = await _events(socket, 3)
    assert stalled["kind"] == "RUN_STATUS_CHANGED"
    assert stalled["data"]["status"] == "stalled"
    await transports.redis_announced(run_id, 3)
    await transports.assert_never_notified(run_id)


def _agent_trace(tracer: Tracer) -> None:
    with (
        tracer.start_as_current_span("invoke_agent shop"),
        tracer.start_as_current_span("chat gpt-4o-mini") as chat,
    ):
        chat.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"})


async def test_otlp_ingestion_wakes_subscribers_through_redis(
    server: ServerProcess, wake_engine: AsyncEngine, key: IssuedKey, transports: Transports
) -> None:
    spans = make_spans(_agent_trace)  # the child first, then the root
    run_id = run_id_for(key.org_id, trace_id_of(spans))
    async with httpx.AsyncClient(base_url=server.http_url) as client:

        async def send(part: list[Any]) -> None:
            response = await client.post("/v1/traces", json=json_body(part), headers=bearer(key))
            assert response.status_code == 200, response.text

        await send([s for s in spans if s.parent is not None])
        run, _ = await wait_for_steps(wake_engine, run_id, 1)
        async with graphql_socket(server.ws_url, key.secret) as socket:
            await _subscribe(socket, run_id)
            await _events(socket, run.last_event_seq)
            await send([s for s in spans if s.parent is None])  # the root ends the run
            live = await _events(socket, run.last_event_seq + 1)
            while live[-1]["kind"] != "RUN_STATUS_CHANGED":
                live += await _events(socket, live[-1]["seq"] + 1)
    assert live[-1]["data"]["status"] == "completed"
    await transports.redis_announced(run_id, live[-1]["seq"])
    await transports.assert_never_notified(run_id)


async def test_the_demo_agent_wakes_subscribers_through_redis(
    server: ServerProcess, wake_engine: AsyncEngine, transports: Transports
) -> None:
    demo_key = await new_org_key(wake_engine, "demo")
    tried: set[uuid.UUID] = set()

    async def watch_a_running_demo_run() -> tuple[uuid.UUID, list[dict[str, Any]]] | None:
        """The run and its live events up to its end, or None if no demo run was running
        or it ended before the subscription was in place (its end was not live)."""
        run_id = await _running_demo_run(wake_engine, tried)
        if run_id is None:
            return None
        tried.add(run_id)
        async with graphql_socket(server.ws_url, demo_key.secret) as socket:
            await _subscribe(socket, run_id)
            await _events(socket, 1)
            if await _status(wake_engine, run_id) != "running":
                return None
            events = await _events(socket, 2)
            while events[-1]["kind"] != "RUN_STATUS_CHANGED":
                events += await _events(socket, events[-1]["seq"] + 1)
        return run_id, events

    run_id, events = await wait_until(
        watch_a_running_demo_run,
        within=WAIT_S,
        every=0.01,
        what=lambda: f"a demo run that stayed running long enough (tried {tried})",
    )
    assert events[-1]["data"]["status"] in {"completed", "partial", "failed"}
    await transports.redis_announced(run_id, events[-1]["seq"])
    await transports.assert_never_notified(run_id)


async def _running_demo_run(engine: AsyncEngine, tried: set[uuid.UUID]) -> uuid.UUID | None:
    query = (
        select(Run.id)
        .join(Organization, Organization.id == Run.org_id)
        .where(Organization.slug == "demo", Run.status == "running")
        .order_by(Run.created_at.desc())
        .limit(5)
    )
    async with engine.connect() as conn:
        found = (await conn.scalars(query)).all()
    return next((run_id for run_id in found if run_id not in tried), None)


async def _status(engine: AsyncEngine, run_id: uuid.UUID) -> str | None:
    async with engine.connect() as conn:
        status: str | None = await conn.scalar(select(Run.status).where(Run.id == run_id))
    return status
