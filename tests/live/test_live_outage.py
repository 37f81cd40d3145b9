"""Live streams through a database outage, as a user watching a run meets it: a real server
process on a private Postgres that the test stops and starts (or whose LISTEN connection it
terminates), a real websocket client, a recorder writing the run throughout.

What must hold: no subscription ends or gets an error; every event arrives exactly once in
seq order; once the database is back the streams catch up within about a second, the
backlog in few messages; the server logs one warning per outage and no traceback.
"""

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests._api import new_org_key
from tests._poll import wait_until
from tests._private_postgres import PrivatePostgres, migrated_private_postgres
from tests._server import ServerProcess, serving
from tests._ws import GraphQLSocket, graphql_socket
from tracewire.db.engine import create_engine, driver_dsn
from tracewire.live.notifier import APPLICATION_NAME
from tracewire.recorder import Recorder, RecorderSettings, RunHandle

pytestmark = pytest.mark.slow

OUTAGE_S = 8.0
# The bound is 1 s; the margin is for a loaded 2-core machine running two suites.
CATCH_UP_BOUND_S = 2.0
WAIT_S = 60.0

RUN_EVENTS = "subscription ($runId: ID!) { runEvents(runId: $runId) { seq } }"
RUN_EVENT_BATCHES = (
    "subscription ($runId: ID!) { runEventBatches(runId: $runId) { events { seq } lastSeq } }"
)
RUN_UPDATES = "subscription { runUpdates { id status } }"


@pytest.fixture(scope="module")
async def private_db() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    async with migrated_private_postgres() as server_and_url:
        yield server_and_url


@pytest.fixture
async def server(
    private_db: tuple[PrivatePostgres, str], tmp_path: Path
) -> AsyncIterator[ServerProcess]:
    workdir = tmp_path / "server"
    workdir.mkdir()
    async with serving(private_db[1], workdir) as process:
        yield process


async def _until(condition: Callable[[], bool], what: str) -> None:
    await wait_until(condition, within=WAIT_S, every=0.01, what=what)


class Watch:
    """runEvents, runEventBatches and runUpdates of one run on one websocket; every message
    kept with the wall-clock time it arrived (comparable with the database's `now()`)."""

    def __init__(self, socket: GraphQLSocket, run_id: uuid.UUID) -> None:
        self.socket = socket
        self.run_id = run_id
        self.received: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.ids: dict[str, str] = {}

    async def start(self) -> "asyncio.Task[None]":
        variables = {"runId": str(self.run_id)}
        self.ids["events"] = await self.socket.subscribe(RUN_EVENTS, variables)
        self.ids["batches"] = await self.socket.subscribe(RUN_EVENT_BATCHES, variables)
        self.ids["updates"] = await self.socket.subscribe(RUN_UPDATES)
        return asyncio.create_task(self._receive())

    async def _receive(self) -> None:
        while True:
            message = await self.socket.receive(3600)
            self.received.setdefault(message.get("id", ""), []).append((time.time(), message))

    def messages(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return self.received.get(self.ids[name], [])

    def event_arrivals(self) -> list[tuple[int, float]]:
        return [(m["payload"]["data"]["runEvents"]["seq"], t) for t, m in self.messages("events")]

    def batch_seqs(self) -> list[list[int]]:
        return [
            [e["seq"] for e in m["payload"]["data"]["runEventBatches"]["events"]]
            for _, m in self.messages("batches")
        ]

    def statuses(self) -> list[str]:
        return [
            m["payload"]["data"]["runUpdates"]["status"]
            for _, m in self.messages("updates")
            if m["payload"]["data"]["runUpdates"]["id"] == str(self.run_id)
        ]

    def last_seq(self) -> int:
        arrivals = self.event_arrivals()
        return arrivals[-1][0] if arrivals else 0

    def not_next(self) -> list[dict[str, Any]]:
        """Every message that is not a plain result: an error, a `complete`, errors inside."""
        return [
            m
            for messages in self.received.values()
            for _, m in messages
            if m["type"] != "next" or "errors" in m["payload"]
        ]


async def _until_complete(watch: Watch, last: int) -> None:
    """Every stream of the watch has it all: events up to `last`, the final status."""
    await _until(lambda: watch.last_seq() >= last, "every event")
    await _until(lambda: sum(map(len, watch.batch_seqs())) >= last, "every batch")
    await _until(lambda: "COMPLETED" in watch.statuses(), "the run's final status")


async def _commit_times(url: str, run_id: uuid.UUID) -> dict[int, float]:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT seq, extract(epoch FROM created_at)::float8 AS at FROM run_events "
            "WHERE run_id = $1 ORDER BY seq",
            run_id,
        )
    finally:
        await conn.close()
    return {row["seq"]: row["at"] for row in rows}


async def _record(run: RunHandle, count: int, label: str, pause: float) -> None:
    for i in range(count):
        run.info(f"{label} {i}")
        await asyncio.sleep(pause)  # a steady agent, not a wait for anything


def _catch_up_delays(watch: Watch, committed: dict[int, float], back_at: float) -> list[float]:
    """Per event: how long after it could first be read (committed, and the database back)
    it reached the client."""
    return [at - max(committed[seq], back_at) for seq, at in watch.event_arrivals()]


def _assert_clean_log(server: ServerProcess, *warned_by: str) -> None:
    """No traceback, and one warning (or worse) from each of the loggers `warned_by`, no
    other: a warning starts a line with its level and logger; what follows it on lines of
    their own (a driver error's second line) belongs to it."""
    log = server.output()
    assert "Traceback" not in log, log
    served = log.split("Press Ctrl-C to stop.", 1)[-1]
    warnings = [
        line.split()[1].rstrip(":")
        for line in served.splitlines()
        if line.startswith(("WARNING:", "ERROR:", "CRITICAL:"))
    ]
    assert sorted(warnings) == sorted(warned_by), log


async def _org_key(url: str) -> tuple[str, str]:
    org = f"outage-{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, pool_size=1)
    try:
        return org, (await new_org_key(engine, org)).secret
    finally:
        await engine.dispose()


async def test_streams_survive_a_postgres_restart_and_catch_up_in_batches(
    private_db: tuple[PrivatePostgres, str], server: ServerProcess, tmp_path: Path
) -> None:
    postgres, url = private_db
    org, secret = await _org_key(url)
    # `busy` records all along (what it records during the outage is spooled and committed
    # once the database is back: the backlog); `fresh` is idle during the outage and records
    # from the moment the database is back, while the server is still reconnecting.
    busy = Recorder(url, settings=RecorderSettings(org=org, flush_interval=0.01))
    fresh = Recorder(url, settings=RecorderSettings(org=org, flush_interval=0.01))
    busy_run, fresh_run = busy.run("busy"), fresh.run("fresh")
    async with (
        graphql_socket(server.ws_url, secret) as busy_socket,
        graphql_socket(server.ws_url, secret) as fresh_socket,
    ):
        watches = [Watch(busy_socket, busy_run.id), Watch(fresh_socket, fresh_run.id)]
        receiving = [await watch.start() for watch in watches]
        try:
            await _record(busy_run, 5, "before", 0.01)
            await _until(lambda: [w.last_seq() for w in watches] == [6, 1], "events before")

            await asyncio.to_thread(postgres.stop)
            try:
                await _record(busy_run, 40, "during", OUTAGE_S / 40)
                assert [m for w in watches for m in w.not_next()] == []
            finally:
                await asyncio.to_thread(postgres.start)
            back_at = time.time()

            await _record(fresh_run, 20, "after", 0.05)
            busy_run.finish()
            fresh_run.finish()
            assert await asyncio.to_thread(busy.flush, 30)
            assert await asyncio.to_thread(fresh.flush, 30)
            lasts = [1 + 5 + 40 + 1, 1 + 20 + 1]
            for watch, last in zip(watches, lasts, strict=True):
                await _until_complete(watch, last)
        finally:
            for task in receiving:
                task.cancel()
    busy.close()
    fresh.close()

    delays = []
    commits = [await _commit_times(url, watch.run_id) for watch in watches]
    for watch, last, committed in zip(watches, lasts, commits, strict=True):
        assert watch.not_next() == []
        assert [seq for seq, _ in watch.event_arrivals()] == list(range(1, last + 1))
        assert [seq for batch in watch.batch_seqs() for seq in batch] == list(range(1, last + 1))
        delays += [
            at - max(committed[seq], back_at)
            for seq, at in watch.event_arrivals()
            if committed[seq] >= back_at - OUTAGE_S  # recorded around the outage
        ]
    # The busy run's backlog (what it recorded during the outage, and its end) reached the
    # database in a few writer transactions (events of one share its `now()`): at most one
    # message each, never one per event.
    backlog_messages = sum(1 for batch in watches[0].batch_seqs() if batch[-1] > 6)
    backlog_commits = len({at for seq, at in commits[0].items() if seq > 6})
    print(
        f"catch-up after the outage: p50 {statistics.median(delays):.3f}s "
        f"max {max(delays):.3f}s over {len(delays)} events; the busy run's backlog of 41 "
        f"events, committed in {backlog_commits} transactions, in {backlog_messages} "
        "runEventBatches messages"
    )
    assert statistics.median(delays) < 1.0
    assert max(delays) < CATCH_UP_BOUND_S
    assert backlog_messages <= backlog_commits
    # The LISTEN connection lost, and the websockets' keys not checkable for revocation
    # while the database was away (sockets were open: it checks every second).
    _assert_clean_log(server, "tracewire.notifier", "tracewire.auth")


async def test_streams_miss_nothing_when_the_listen_connection_is_terminated(
    private_db: tuple[PrivatePostgres, str], server: ServerProcess
) -> None:
    _, url = private_db
    org, secret = await _org_key(url)
    rec = Recorder(url, settings=RecorderSettings(org=org, flush_interval=0.01))
    run = rec.run("bot")
    async with graphql_socket(server.ws_url, secret) as socket:
        watch = Watch(socket, run.id)
        receiving = await watch.start()
        try:
            await _record(run, 20, "before", 0.005)
            admin = await asyncpg.connect(driver_dsn(url))
            try:
                terminated = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = $1",
                    APPLICATION_NAME,
                )
            finally:
                await admin.close()
            assert terminated == 1
            await _record(run, 40, "after", 0.005)
            run.finish()
            assert await asyncio.to_thread(rec.flush, 30)
            last = 1 + 20 + 40 + 1
            await _until_complete(watch, last)
        finally:
            receiving.cancel()
    rec.close()
    assert watch.not_next() == []
    assert [seq for seq, _ in watch.event_arrivals()] == list(range(1, last + 1))
    assert [seq for batch in watch.batch_seqs() for seq in batch] == list(range(1, last + 1))
    _assert_clean_log(server, "tracewire.notifier")
