"""Runs open in a recording process stay fresh (`runs.updated_at`) while nothing is recorded,
so the server's stalled-run sweep only catches runs whose process is gone."""

import asyncio
import time
import uuid

import asyncpg

from tracewire.db.engine import driver_dsn
from tracewire.recorder import MemorySink, Recorder, RecorderSettings

INTERVAL = 0.3


async def _silence_s(database_url: str, run_id: uuid.UUID) -> float:
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:
        silence: float = await conn.fetchval(
            "SELECT extract(epoch FROM now() - updated_at)::float8 FROM runs WHERE id = $1",
            run_id,
        )
        return silence
    finally:
        await conn.close()


async def test_an_open_run_keeps_a_fresh_updated_at_and_a_finished_one_does_not(
    database_url: str,
) -> None:
    settings = RecorderSettings(org=f"hb-{uuid.uuid4().hex[:8]}", heartbeat_interval=INTERVAL)
    rec = Recorder(database_url, settings=settings)
    quiet = rec.run("bot")
    done = rec.run("bot")
    done.info("all there is")
    done.finish()
    assert await asyncio.to_thread(rec.flush, 10)
    await asyncio.sleep(4 * INTERVAL)  # no activity for more than two intervals
    try:
        assert await _silence_s(database_url, quiet.id) < 2 * INTERVAL
        assert await _silence_s(database_url, done.id) >= 3 * INTERVAL
    finally:
        quiet.finish()
        assert await asyncio.to_thread(rec.close, 10)


async def test_an_attached_run_is_heartbeated_until_it_finishes(database_url: str) -> None:
    settings = RecorderSettings(org=f"hb-{uuid.uuid4().hex[:8]}", heartbeat_interval=INTERVAL)
    opener = Recorder(database_url, settings=settings)
    run = opener.run("controller")
    run.finish()  # the opener stops heartbeating; the worker below takes over
    assert await asyncio.to_thread(opener.close, 10)
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:  # the run is still running for the worker that helps with it
        await conn.execute("UPDATE runs SET status = 'running' WHERE id = $1", run.id)
    finally:
        await conn.close()
    worker = Recorder(database_url, settings=settings)
    attached = worker.attach(run.id)
    await asyncio.sleep(4 * INTERVAL)
    try:
        assert await _silence_s(database_url, run.id) < 2 * INTERVAL
    finally:
        attached.finish()
        assert await asyncio.to_thread(worker.close, 10)


def test_the_writer_sends_open_run_ids_and_stops_after_finish() -> None:
    sink = MemorySink()
    rec = Recorder(sink=sink, settings=RecorderSettings(heartbeat_interval=0.05))
    run = rec.run("bot")
    time.sleep(0.3)
    run.finish()
    assert rec.flush(5)
    sent = len(sink.heartbeats)
    time.sleep(0.3)
    rec.close()
    assert sent >= 2
    assert all(ids == [run.id.hex] for ids in sink.heartbeats)
    assert len(sink.heartbeats) <= sent + 1  # at most one already on its way at finish
