"""Live fan-out against real Postgres: the recorder writes, one LISTEN connection wakes the
hub, and every subscriber sees every event once, in seq order, through drops and lag."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
from broadcaster import Broadcast
from redis import asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._poll import wait_until
from tests._redis import private_redis
from tracewire.db.engine import driver_dsn, session_factory
from tracewire.live import CHANNEL, LiveReader, PostgresNotifyBackend, RunEventHub, run_events
from tracewire.live.redis_notifier import RedisNotifyBackend
from tracewire.recorder import Recorder, RecorderSettings, RunHandle


@contextlib.asynccontextmanager
async def live_hub(
    database_url: str, engine: AsyncEngine, *, buffer: int = 256
) -> AsyncIterator[tuple[RunEventHub, LiveReader, PostgresNotifyBackend]]:
    backend = PostgresNotifyBackend(database_url, channels=[CHANNEL], liveness_interval=0.5)
    reader = LiveReader(session_factory(engine))
    hub = RunEventHub(reader, buffer=buffer)
    async with Broadcast(backend=backend) as broadcast:
        task = asyncio.create_task(hub.consume(broadcast))
        await hub.wait_subscribed(task)  # LISTENing before anything is recorded
        try:
            yield hub, reader, backend
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _recorder(database_url: str) -> Recorder:
    return Recorder(
        database_url,
        settings=RecorderSettings(org=f"live-{uuid.uuid4().hex[:8]}", flush_interval=0.01),
    )


async def _collect(
    hub: RunEventHub,
    reader: LiveReader,
    run_id: uuid.UUID,
    count: int,
    after: int = 0,
    seqs: list[int] | None = None,
) -> list[int]:
    """The seqs of the run's next `count` events; appended to `seqs` as they come, when
    given, so the caller can see how far the stream is."""
    seqs = [] if seqs is None else seqs
    async for event in run_events(hub, reader, run_id, after):
        seqs.append(event.seq)
        if len(seqs) == count:
            break
    return seqs


async def _record_steps(run: RunHandle, count: int, pause: float = 0.0) -> None:
    for i in range(count):
        run.info(f"step {i}")
        if pause:
            await asyncio.sleep(pause)


async def test_stored_events_then_live_ones_arrive_in_order_exactly_once(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = _recorder(database_url)
    async with live_hub(database_url, engine) as (hub, reader, _):
        run = rec.run("bot")
        await _record_steps(run, 10)
        assert await asyncio.to_thread(rec.flush, 10)
        # 1 run_created + 1 event per instant step = 11 stored; then 20 more live.
        watcher = asyncio.create_task(_collect(hub, reader, run.id, 31))
        await _record_steps(run, 20, pause=0.005)
        seqs = await asyncio.wait_for(watcher, timeout=20)
    rec.close()
    assert seqs == list(range(1, 32))


async def test_a_reconnecting_subscriber_resumes_after_its_last_seq(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = _recorder(database_url)
    async with live_hub(database_url, engine) as (hub, reader, _):
        run = rec.run("bot")
        await _record_steps(run, 5)
        first = await asyncio.wait_for(_collect(hub, reader, run.id, 4), timeout=20)
        watcher = asyncio.create_task(_collect(hub, reader, run.id, 4, after=first[-1]))
        await _record_steps(run, 2)
        second = await asyncio.wait_for(watcher, timeout=20)
    rec.close()
    assert first + second == list(range(1, 9))


async def test_a_killed_listen_connection_reconnects_and_subscribers_miss_nothing(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = _recorder(database_url)
    async with live_hub(database_url, engine) as (hub, reader, backend):
        run = rec.run("bot")
        watcher = asyncio.create_task(_collect(hub, reader, run.id, 1 + 60))
        await _record_steps(run, 20, pause=0.005)
        admin = await asyncpg.connect(driver_dsn(database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend.backend_pid)
        finally:
            await admin.close()
        await _record_steps(run, 40, pause=0.005)
        seqs = await asyncio.wait_for(watcher, timeout=30)
        assert backend.reconnects >= 1
    rec.close()
    assert seqs == list(range(1, 62))


async def test_many_subscribers_share_one_read_per_notification(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = _recorder(database_url)
    async with live_hub(database_url, engine) as (hub, reader, _):
        run = rec.run("bot")
        assert await asyncio.to_thread(rec.flush, 10)
        progress: list[list[int]] = [[] for _ in range(500)]
        watchers = [
            asyncio.create_task(_collect(hub, reader, run.id, 1 + 50, seqs=seqs))
            for seqs in progress
        ]
        await wait_until(
            lambda: all(progress),
            what=lambda: f"{sum(map(bool, progress))} of 500 replayed the stored event",
        )  # all 500 read the tables once and are live
        reads_before = hub.reads
        await _record_steps(run, 50, pause=0.01)
        results = await asyncio.wait_for(asyncio.gather(*watchers), timeout=60)
        live_reads = hub.reads - reads_before
    rec.close()
    assert all(seqs == list(range(1, 52)) for seqs in results)
    assert live_reads <= 60  # about one per committed batch, not one per subscriber


@pytest.mark.parametrize("buffer", [1, 2])
async def test_a_slow_subscriber_falls_back_to_reading_and_still_misses_nothing(
    database_url: str, engine: AsyncEngine, buffer: int
) -> None:
    rec = _recorder(database_url)
    seqs: list[int] = []
    async with live_hub(database_url, engine, buffer=buffer) as (hub, reader, _):
        run = rec.run("bot")

        async def slow() -> None:
            async for event in run_events(hub, reader, run.id):
                seqs.append(event.seq)
                await asyncio.sleep(0.01)
                if len(seqs) == 41:
                    return

        watcher = asyncio.create_task(slow())
        await _record_steps(run, 40, pause=0.002)
        await asyncio.wait_for(watcher, timeout=30)
    rec.close()
    assert seqs == list(range(1, 42))


async def test_redis_as_the_wake_up_transport_survives_a_dropped_subscription(
    database_url: str, engine: AsyncEngine
) -> None:
    # A Redis of its own: the kill below would cut every other test session's subscription.
    async with private_redis() as redis_url:
        await _survive_a_dropped_redis_subscription(database_url, engine, redis_url)


async def _survive_a_dropped_redis_subscription(
    database_url: str, engine: AsyncEngine, redis_url: str
) -> None:
    backend = RedisNotifyBackend(redis_url)
    reader = LiveReader(session_factory(engine))
    hub = RunEventHub(reader)
    rec = _recorder(database_url)
    publisher = aioredis.Redis.from_url(redis_url)
    async with Broadcast(backend=backend) as broadcast:
        task = asyncio.create_task(hub.consume(broadcast))
        await hub.wait_subscribed(task)
        try:
            run = rec.run("bot")
            assert await asyncio.to_thread(rec.flush, 10)
            received: list[int] = []
            watcher = asyncio.create_task(_collect(hub, reader, run.id, 1 + 20, seqs=received))
            # It has the stored run creation: it read the tables and listens live.
            await wait_until(lambda: received, what="the watcher's replay of the stored event")
            for i in range(20):
                run.info(f"step {i}")
                assert await asyncio.to_thread(rec.flush, 10)
                # What a recorder configured with notify_url publishes after its commit: the
                # step's own seq (the run's creation is seq 1), so nothing after the kill is
                # read until the resubscription's RESYNC.
                seq = i + 2
                payload = {
                    "runs": [["00000000-0000-0000-0000-000000000000", str(run.id), seq, seq]]
                }
                if i == 10:
                    await publisher.client_kill_filter(_type="pubsub")
                    continue  # this wake-up is lost with the connection; RESYNC covers it
                await publisher.publish("tracewire_events", orjson.dumps(payload))
            seqs = await asyncio.wait_for(watcher, timeout=30)
            assert backend.reconnects >= 1
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await publisher.aclose()
    rec.close()
    assert seqs == list(range(1, 22))
