"""Nothing recorded is lost, and nothing is written twice, through real faults: the server
stopped for 10 s mid-run, the recording process killed with SIGKILL, a commit whose
acknowledgement never arrives. Each test checks every step is stored exactly once, with
seq gap-free and in record order.

The server that gets stopped is a private one started here, never the shared one."""

import asyncio
import os
import signal
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests._ack_dropping_proxy import AckDroppingProxy
from tests._poll import wait_until
from tests._private_postgres import PrivatePostgres, migrated_private_postgres
from tracewire.db.engine import driver_dsn
from tracewire.recorder import Recorder, RecorderSettings

pytestmark = pytest.mark.slow

OUTAGE_S = 10.0


def _org() -> str:
    return f"fault-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def private_server() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    async with migrated_private_postgres() as server_and_url:
        yield server_and_url


async def _stored_steps(url: str, run_id: uuid.UUID) -> int:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM steps WHERE run_id = $1", run_id)
        return count
    finally:
        await conn.close()


def _spool_files(directory: Path) -> list[Path]:
    return list(directory.rglob("*.spool"))


async def _assert_stored_once_in_order(url: str, run_id: uuid.UUID, names: list[str]) -> None:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        steps = await conn.fetch(
            "SELECT name, seq FROM steps WHERE run_id = $1 ORDER BY seq", run_id
        )
        events = await conn.fetch(
            "SELECT seq FROM run_events WHERE run_id = $1 ORDER BY seq", run_id
        )
        step_count = await conn.fetchval("SELECT step_count FROM runs WHERE id = $1", run_id)
    finally:
        await conn.close()
    assert [s["name"] for s in steps] == names  # each once, in record order
    assert [s["seq"] for s in steps] == list(range(1, len(names) + 1))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert step_count == len(names)


async def test_steps_recorded_while_postgres_is_down_for_10s_are_stored_once_in_order(
    private_server: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    server, url = private_server
    settings = RecorderSettings(
        org=_org(), flush_interval=0.01, spool_after=0.5, spool_dir=tmp_path
    )
    rec = Recorder(url, settings=settings)
    run = rec.run("bot")
    stop = threading.Event()
    names: list[str] = []

    def record() -> None:
        while not stop.is_set():
            name = f"s{len(names)}"
            with run.step(name, input={"n": len(names)}) as step:
                step.output = "ok"
            names.append(name)
            if len(names) % 20 == 0:
                time.sleep(0.002)

    recorder_thread = threading.Thread(target=record)
    recorder_thread.start()
    try:
        await wait_until(lambda: _stored_steps(url, run.id), what="steps committed before")
        await asyncio.to_thread(server.stop)
        down_since = time.monotonic()
        spooled = await wait_until(
            lambda: rec.stats().spooled_bytes, what=lambda: f"spooling: {rec.stats()}"
        )
        # The outage lasts its 10 s (the scenario, not a wait for anything) while the agent
        # goes on recording.
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_since)))
        written_before = rec.stats().written_batches
        await asyncio.to_thread(server.start)
        # The agent records on until the writer commits again, so that close replays the
        # spool with the steps recorded after the restart behind it.
        await wait_until(
            lambda: rec.stats().written_batches > written_before,
            what=lambda: f"a batch committed after the restart: {rec.stats()}",
        )
    finally:
        stop.set()
        await asyncio.to_thread(recorder_thread.join)
        await asyncio.to_thread(server.start)  # idempotent; a failed test must not leave it down
    run.finish()
    # Generous: the spool of 10 s of recording is replayed on a machine that may be loaded.
    assert await asyncio.to_thread(rec.close, 120)

    stats = rec.stats()
    assert stats.failed_attempts > 0 and spooled > 0  # the outage was real and spooled
    assert (stats.spooled_bytes, stats.dropped) == (0, 0)
    assert await asyncio.to_thread(_spool_files, tmp_path) == []  # removed once committed
    await _assert_stored_once_in_order(url, run.id, names)


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tracewire.recorder import Recorder, RecorderSettings
    url, spool, org, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    settings = RecorderSettings(org=org, spool_dir=spool, spool_after=0.2, flush_interval=0.01)
    rec = Recorder(url, settings=settings)
    run = rec.run("bot")
    for i in range(count):
        run.info(f"s{i}", name=f"s{i}")
    run.finish()
    # Everything is on disk once nothing is queued and the spool stops growing (a batch
    # taken off the queue is on its way to the spool for a moment).
    seen, steady = -1, 0
    while steady < 3:
        stats = rec.stats()
        steady = steady + 1 if not stats.queued and stats.spooled_bytes == seen else 0
        seen = stats.spooled_bytes
        time.sleep(0.05)
    print(run.id, flush=True)
    time.sleep(600)  # killed long before
    """
)


async def test_a_spool_left_by_a_killed_process_is_replayed_by_the_next_one(
    private_server: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    server, url = private_server
    count = 3000
    await asyncio.to_thread(server.stop)
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _KILLED_WRITER, url, str(tmp_path), _org(), str(count),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), timeout=40)
            run_id = uuid.UUID(line.decode().strip())
        finally:
            child.send_signal(signal.SIGKILL)  # no atexit, no flush: only the spool remains
            await child.wait()
        assert await asyncio.to_thread(_spool_files, tmp_path)
    finally:
        await asyncio.to_thread(server.start)

    heir = Recorder(url, settings=RecorderSettings(org=_org(), spool_dir=tmp_path))
    assert await asyncio.to_thread(heir.close, 30)
    assert await asyncio.to_thread(_spool_files, tmp_path) == []
    await _assert_stored_once_in_order(url, run_id, [f"s{i}" for i in range(count)])


async def test_a_commit_whose_acknowledgement_is_lost_is_not_written_twice(
    database_url: str,
) -> None:
    proxy = AckDroppingProxy(database_url, drops=3)
    proxied_url = await proxy.start()
    try:
        settings = RecorderSettings(org=_org(), batch_size=50, spool=False)
        rec = Recorder(proxied_url, settings=settings)
        with rec.run("bot") as run:
            for i in range(400):
                run.info(f"s{i}", name=f"s{i}")
        assert await asyncio.to_thread(rec.close, 30)
    finally:
        await proxy.stop()
    assert proxy.dropped == 3
    assert rec.stats().failed_attempts >= 3
    await _assert_stored_once_in_order(database_url, run.id, [f"s{i}" for i in range(400)])


def test_no_spool_file_is_adopted_while_its_writer_lives(tmp_path: Path) -> None:
    from tracewire.recorder._records import VENDOR_USED, Batch, VendorUsed
    from tracewire.recorder._spool import Orphan, Spool

    alive = Spool(tmp_path)
    usage = VendorUsed(VENDOR_USED, "b" * 32, "v", 1, 0, 0, 0, 0, 0.0)
    alive.append(Batch("a" * 32, [usage]))
    assert Orphan.adopt_all(tmp_path, tmp_path / "mine.spool") == []
    alive.close()  # not replayed yet: left for a later writer
    (orphan,) = Orphan.adopt_all(tmp_path, tmp_path / "mine.spool")
    entry = orphan.peek()
    assert entry is not None
    batch, offset = entry
    assert (batch.id, batch.records) == ("a" * 32, [usage])
    orphan.commit(offset)
    orphan.finish()
    assert not any(tmp_path.iterdir()) or os.listdir(tmp_path) == []
