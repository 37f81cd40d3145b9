"""A recording agent, a real process recording steps at a steady rate, through real database
faults: a server that hangs (SIGSTOP: connections accepted, nothing answered), one stopped,
one crash-restarted (immediate mode), and a spool on a disk that fills up (a tiny tmpfs).
The agent ends by SIGTERM (the way `docker stop` ends it) or by SIGKILL.

Each test checks what a user would: every step stored once, in record order, or, where a
kill -9 loses the tail, that the loss stays within the documented bound (what was recorded in
the last `spool_after` plus one `flush_interval`); how soon a SIGTERM ends the process; and
that a run ended by SIGTERM is `cancelled`, with the signal as its reason.

The agent logs, before recording step i, `i + 1` at offset 0 of a log file and the step's
wall-clock time at `_HEADER.size + 8 * i` (pwrite: the kernel keeps it through a SIGKILL),
so a test knows exactly what was recorded and when."""

import asyncio
import json
import signal
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests._poll import wait_until, wait_until_blocking
from tests._private_postgres import PrivatePostgres, migrated_private_postgres
from tracewire.db.engine import driver_dsn
from tracewire.recorder import Recorder, RecorderSettings

pytestmark = pytest.mark.slow

RATE = 500  # steps per second
SPOOL_AFTER = RecorderSettings().spool_after
INTERVAL = RecorderSettings().flush_interval
# What a loaded two-core machine may add to the writer's own timing.
SCHEDULING_MARGIN_S = 0.5
# count, longest hot-path call (ns), dropped, written records (from `rec.stats()`)
_HEADER = struct.Struct("<qqqq")

_AGENT = textwrap.dedent(
    """
    import json, os, struct, sys, time
    from pathlib import Path
    from tracewire.recorder import Recorder, RecorderSettings
    url, spool, org, log_path, options = sys.argv[1:6]
    options = json.loads(options)
    rate = options.pop("rate")
    settings = RecorderSettings(org=org, spool_dir=Path(spool), exit_on_sigterm=True, **options)
    rec = Recorder(url, settings=settings)
    log = os.open(log_path, os.O_RDWR | os.O_CREAT, 0o600)
    longest = 0

    def report():
        stats = rec.stats()
        os.pwrite(log, struct.pack("<qqq", longest, stats.dropped, stats.written_records), 8)

    try:
        with rec.run("steady") as run:
            print(run.id, flush=True)
            started = time.monotonic()
            i = 0
            while True:
                os.pwrite(log, struct.pack("<d", time.time()), 32 + 8 * i)
                os.pwrite(log, struct.pack("<q", i + 1), 0)
                before = time.perf_counter_ns()
                run.info(f"s{i}", name=f"s{i}")
                longest = max(longest, time.perf_counter_ns() - before)
                i += 1
                if i % 100 == 0:
                    report()
                pause = started + i / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # paces the agent
    finally:
        rec.close()
        report()
    """
)


@dataclass
class _Log:
    recorded: int
    longest_call_ms: float
    dropped: int
    written: int
    times: list[float]


class _Agent:
    def __init__(self, url: str, spool: Path, log: Path, **options: Any) -> None:
        self.log_path = log
        self.org = f"outage-{uuid.uuid4().hex[:8]}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", _AGENT, url, str(spool), self.org, str(log),
             json.dumps({"rate": RATE, **options})],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.run_id = uuid.UUID(self.process.stdout.readline().decode().strip())

    def read(self) -> _Log:
        data = self.log_path.read_bytes()
        count, longest, dropped, written = _HEADER.unpack_from(data)
        times = list(struct.unpack_from(f"<{count}d", data, _HEADER.size))
        return _Log(count, longest / 1e6, dropped, written, times)

    def recorded(self) -> int:
        return self.read().recorded if self.log_path.stat().st_size >= _HEADER.size else 0

    def signal_and_wait(self, signum: int, timeout: float = 60.0) -> tuple[int, float]:
        """(exit code, seconds from the signal to the exit)."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        return code, time.monotonic() - sent

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        self.kill()
        assert self.process.stdout is not None
        self.process.stdout.close()


def _record_for(agent: _Agent, seconds: float) -> None:
    """Let the agent record `seconds` more worth of steps (counted, not slept: a loaded
    machine slows the agent and the wait with it)."""
    target = agent.recorded() + int(seconds * RATE)
    wait_until_blocking(
        lambda: agent.recorded() >= target, within=seconds * 10 + 30, what=f"step {target}"
    )


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    async with migrated_private_postgres() as server_and_url:
        yield server_and_url


@pytest.fixture
def agents(server: tuple[PrivatePostgres, str]) -> Iterator[list[_Agent]]:
    """Agents a test starts; killed, and the server restored, whatever the test did."""
    started: list[_Agent] = []
    yield started
    for agent in started:
        agent.close()
    pg, _ = server
    pg.resume()
    pg.start()


async def _stored(url: str, run_id: uuid.UUID) -> tuple[list[str], asyncpg.Record]:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        names = [
            row["name"]
            for row in await conn.fetch(
                "SELECT name FROM steps WHERE run_id = $1 ORDER BY seq", run_id
            )
        ]
        run = await conn.fetchrow(
            "SELECT status, error_code, error_message, step_count FROM runs WHERE id = $1",
            run_id,
        )
    finally:
        await conn.close()
    assert run is not None
    return names, run


def _replay_spool(url: str, spool: Path) -> None:
    """What the next process does at its start: replays the spool left behind."""
    heir = Recorder(url, settings=RecorderSettings(org="heir", spool_dir=spool))
    assert heir.close(60)
    assert list(spool.rglob("*.spool")) == []


def _names(indices: range) -> list[str]:
    return [f"s{i}" for i in indices]


async def _assert_all_stored_once_and_cancelled(url: str, agent: _Agent) -> None:
    log = agent.read()
    names, run = await _stored(url, agent.run_id)
    assert names == _names(range(log.recorded))  # each once, in record order
    assert run["step_count"] == log.recorded
    assert (run["status"], run["error_code"]) == ("cancelled", "SIGTERM")
    assert run["error_message"] == "the process received SIGTERM"


def _assert_loss_within_bound(stored: list[str], log: _Log, killed_at: float) -> float:
    """A kill -9 loses only the tail, recorded within the bound: its length in seconds."""
    assert stored == _names(range(len(stored)))  # a prefix: each once, in record order
    lost = log.times[len(stored) :]
    window = killed_at - lost[0] if lost else 0.0
    assert window <= SPOOL_AFTER + INTERVAL + SCHEDULING_MARGIN_S, (
        f"lost {len(lost)} steps recorded in the last {window:.2f} s before the kill"
    )
    return window


async def test_sigterm_while_the_database_hangs_spools_everything_and_exits_promptly(
    server: tuple[PrivatePostgres, str], agents: list[_Agent], tmp_path: Path
) -> None:
    pg, url = server
    agent = _Agent(url, tmp_path / "spool", tmp_path / "log")
    agents.append(agent)
    await asyncio.to_thread(_record_for, agent, 1.0)
    pg.hang()
    await asyncio.to_thread(_record_for, agent, 3.0)
    code, exit_s = await asyncio.to_thread(agent.signal_and_wait, signal.SIGTERM)
    pg.resume()
    assert code == 128 + signal.SIGTERM
    # Before: 15.5 s (close waited timeout + 5 s on the stuck sink). Now: once spooled.
    assert exit_s < SPOOL_AFTER + 4.0
    print(f"hang: exited {exit_s:.2f} s after SIGTERM")
    await asyncio.to_thread(_replay_spool, url, tmp_path / "spool")
    await _assert_all_stored_once_and_cancelled(url, agent)


async def test_sigterm_with_the_database_down_exits_once_everything_is_spooled(
    server: tuple[PrivatePostgres, str], agents: list[_Agent], tmp_path: Path
) -> None:
    pg, url = server
    agent = _Agent(url, tmp_path / "spool", tmp_path / "log")
    agents.append(agent)
    await asyncio.to_thread(_record_for, agent, 1.0)
    await asyncio.to_thread(pg.stop)
    await asyncio.to_thread(_record_for, agent, 2.0)
    code, exit_s = await asyncio.to_thread(agent.signal_and_wait, signal.SIGTERM)
    await asyncio.to_thread(pg.start)
    assert code == 128 + signal.SIGTERM
    # Before: the whole close_timeout (10.8 s), racing docker stop's SIGKILL.
    assert exit_s < RecorderSettings().close_timeout / 2
    print(f"down: exited {exit_s:.2f} s after SIGTERM")
    await asyncio.to_thread(_replay_spool, url, tmp_path / "spool")
    await _assert_all_stored_once_and_cancelled(url, agent)


@pytest.mark.parametrize("fault", ["hang", "stop"])
async def test_a_kill_9_during_an_outage_loses_at_most_spool_after_plus_one_interval(
    server: tuple[PrivatePostgres, str], agents: list[_Agent], tmp_path: Path, fault: str
) -> None:
    pg, url = server
    agent = _Agent(url, tmp_path / "spool", tmp_path / "log")
    agents.append(agent)
    await asyncio.to_thread(_record_for, agent, 1.0)
    await asyncio.to_thread(pg.hang if fault == "hang" else pg.stop)
    # Into the outage long enough for a 2 s retry backoff to have set in (spooling
    # followed it before), then killed.
    await asyncio.to_thread(_record_for, agent, 6.0)
    killed_at = time.time()
    agent.kill()
    await asyncio.to_thread(pg.resume if fault == "hang" else pg.start)
    await asyncio.to_thread(_replay_spool, url, tmp_path / "spool")
    stored, _ = await _stored(url, agent.run_id)
    window = _assert_loss_within_bound(stored, agent.read(), killed_at)
    print(f"{fault}: lost the last {window:.3f} s")


async def test_a_crash_restart_mid_run_stores_every_step_once(
    server: tuple[PrivatePostgres, str], agents: list[_Agent], tmp_path: Path
) -> None:
    pg, url = server
    agent = _Agent(url, tmp_path / "spool", tmp_path / "log")
    agents.append(agent)
    await asyncio.to_thread(_record_for, agent, 1.0)
    await asyncio.to_thread(pg.crash)
    await asyncio.to_thread(_record_for, agent, 2.0)
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(_record_for, agent, 3.0)  # replays the spool meanwhile
    code, _ = await asyncio.to_thread(agent.signal_and_wait, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM
    assert list((tmp_path / "spool").rglob("*.spool")) == []  # all committed by itself
    await _assert_all_stored_once_and_cancelled(url, agent)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs for the spool: a disk that fills up for real."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_with_the_spool_disk_full_nothing_recorded_after_the_database_returns_is_lost(
    server: tuple[PrivatePostgres, str], agents: list[_Agent], tmp_path: Path, tiny_disk: Path
) -> None:
    pg, url = server
    agent = _Agent(url, tiny_disk, tmp_path / "log", max_queue=1500)
    agents.append(agent)
    await asyncio.to_thread(_record_for, agent, 1.0)
    await asyncio.to_thread(pg.stop)
    # The disk fills, then memory's budget: records are dropped.
    await wait_until(lambda: agent.read().dropped > 0, within=120, what="drops")
    await asyncio.to_thread(pg.start)
    back_at = agent.recorded()
    await asyncio.to_thread(_record_for, agent, 4.0)
    code, _ = await asyncio.to_thread(agent.signal_and_wait, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM
    log = agent.read()
    names, run = await _stored(url, agent.run_id)
    indices = [int(name[1:]) for name in names]
    assert indices == sorted(set(indices))  # each once, in record order
    assert indices[-(log.recorded - back_at) :] == list(range(back_at, log.recorded))
    # `dropped` counts what the agent recorded: here one record per step.
    assert log.dropped == log.recorded - len(names) > 0
    assert run["status"] == "cancelled"
    # The agent never waited on the disk or the database (before: 5.9 ms at most).
    assert log.longest_call_ms < 50
    print(f"dropped {log.dropped} of {log.recorded}; longest call {log.longest_call_ms:.2f} ms")
