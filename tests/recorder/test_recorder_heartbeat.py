"""Runs open in a recording process stay fresh (`runs.updated_at`) while nothing is recorded,
so the server's stalled-run sweep only catches runs whose process is gone."""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg

from tests._poll import wait_until, wait_until_blocking
from tracewire.db.engine import driver_dsn
from tracewire.recorder import MemorySink, Recorder, RecorderSettings

INTERVAL = 0.3


async def _updated_at(database_url: str, run_id: uuid.UUID) -> datetime:
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:
        updated_at: datetime = await conn.fetchval(
            "SELECT updated_at FROM runs WHERE id = $1", run_id
        )
        return updated_at
    finally:
        await conn.close()


async def _refreshed_twice(database_url: str, run_id: uuid.UUID, since: datetime) -> None:
    """Wait until the run's `updated_at` took two new values after `since` with nothing
    recorded: at least one of them a heartbeat sent after everything before was written.
    However late the heartbeat thread is on a loaded machine, this only waits longer."""
    seen: set[datetime] = set()

    async def twice() -> bool:
        updated_at = await _updated_at(database_url, run_id)
        if updated_at > since:
            seen.add(updated_at)
        return len(seen) >= 2

    await wait_until(twice, every=INTERVAL / 3, what=f"two heartbeats of run {run_id}")


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
    done_at = await _updated_at(database_url, done.id)
    try:
        await _refreshed_twice(database_url, quiet.id, await _updated_at(database_url, quiet.id))
        assert await _updated_at(database_url, done.id) == done_at
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
    finished_at = await _updated_at(database_url, run.id)
    worker = Recorder(database_url, settings=settings)
    attached = worker.attach(run.id)
    try:
        await _refreshed_twice(database_url, run.id, finished_at)
    finally:
        attached.finish()
        assert await asyncio.to_thread(worker.close, 10)


def test_the_writer_sends_open_run_ids_and_stops_after_finish() -> None:
    sink = MemorySink()
    rec = Recorder(sink=sink, settings=RecorderSettings(heartbeat_interval=0.05))
    run = rec.run("bot")
    wait_until_blocking(lambda: len(sink.heartbeats) >= 2, every=0.01, what="two heartbeats")
    run.finish()
    assert rec.flush(5)
    sent = len(sink.heartbeats)
    # Six intervals with no open run: a heartbeat would have been sent by then.
    assert not _waited_for(lambda: len(sink.heartbeats) > sent, 0.3)
    rec.close()
    assert all(ids == [run.id.hex] for ids in sink.heartbeats)
    assert len(sink.heartbeats) <= sent + 1  # at most one already on its way at finish


def _waited_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether `condition` came true within `seconds` (polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
