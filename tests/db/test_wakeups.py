"""The wake-up door: Postgres mode sends one NOTIFY per batch inside the writer's transaction
(through an asyncpg connection, a SQLAlchemy connection or a session alike); Redis mode
publishes only after the commit, and a failed publish is logged once and skipped."""

import asyncio
import logging
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest
from redis import asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._poll import DEFAULT_WITHIN
from tests._redis import private_redis
from tests._server import free_port
from tracewire.db import _redis_publisher, notify, wakeups
from tracewire.db.engine import driver_dsn, session_factory

Range = tuple[uuid.UUID, uuid.UUID, int, int]
# Runs `announce` in a transaction of one connection kind; commits unless told to roll back.
InTransaction = Callable[
    [AsyncEngine, str, wakeups.Publisher, list[Range], bool], Awaitable[wakeups.Announcement]
]


class _Rollback(Exception):
    pass


async def _on_asyncpg(
    engine: AsyncEngine, url: str, publisher: wakeups.Publisher, ranges: list[Range], commit: bool
) -> wakeups.Announcement:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        try:
            async with conn.transaction():
                announced = await publisher.announce(wakeups.AsyncpgTransaction(conn), ranges)
                if not commit:
                    raise _Rollback
        except _Rollback:
            pass
    finally:
        await conn.close()
    return announced


async def _on_connection(
    engine: AsyncEngine, url: str, publisher: wakeups.Publisher, ranges: list[Range], commit: bool
) -> wakeups.Announcement:
    try:
        async with engine.begin() as conn:
            announced = await publisher.announce(wakeups.SqlAlchemyTransaction(conn), ranges)
            if not commit:
                raise _Rollback
    except _Rollback:
        pass
    return announced


async def _on_session(
    engine: AsyncEngine, url: str, publisher: wakeups.Publisher, ranges: list[Range], commit: bool
) -> wakeups.Announcement:
    try:
        async with session_factory(engine).begin() as session:
            announced = await publisher.announce(wakeups.SqlAlchemyTransaction(session), ranges)
            if not commit:
                raise _Rollback
    except _Rollback:
        pass
    return announced


class _Heard:
    """A LISTEN connection's notifications on the wake-up channel, in arrival order."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.payloads: list[str] = []
        self._arrived = asyncio.Event()

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.payloads.append(payload)
        self._arrived.set()

    async def until(self, count: int) -> list[str]:
        async with asyncio.timeout(DEFAULT_WITHIN):
            while len(self.payloads) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.payloads


@asynccontextmanager
async def _listening(database_url: str) -> AsyncIterator[_Heard]:
    conn = await asyncpg.connect(driver_dsn(database_url))
    heard = _Heard(conn)
    await conn.add_listener(notify.CHANNEL, heard.on_notify)
    try:
        yield heard
    finally:
        await conn.close()


def _ranges(count: int) -> list[Range]:
    return [(uuid.uuid4(), uuid.uuid4(), n, n + 2) for n in range(1, count + 1)]


@pytest.mark.parametrize("in_transaction", [_on_asyncpg, _on_connection, _on_session])
async def test_postgres_mode_sends_one_notify_per_batch_delivered_only_if_the_transaction_commits(
    database_url: str, engine: AsyncEngine, in_transaction: InTransaction
) -> None:
    publisher = wakeups.publisher_for(None)
    assert isinstance(publisher, wakeups.PostgresPublisher)
    rolled_back, committed = _ranges(3), _ranges(3)
    async with _listening(database_url) as heard:
        await (
            await in_transaction(engine, database_url, publisher, rolled_back, False)
        ).after_commit()
        announced = await in_transaction(engine, database_url, publisher, committed, True)
        await announced.after_commit()
        # Notifications arrive in commit order: once the committed batch's is here, the
        # rolled-back one would have been too.
        (payload,) = await heard.until(1)
    assert announced.payloads == (payload,)
    assert notify.parse(payload) == committed


async def test_a_batch_too_large_for_one_notify_is_split_and_every_part_arrives(
    database_url: str, engine: AsyncEngine
) -> None:
    ranges = _ranges(400)
    async with _listening(database_url) as heard:
        announced = await _on_connection(
            engine, database_url, wakeups.PostgresPublisher(), ranges, True
        )
        payloads = await heard.until(len(announced.payloads))
    assert len(payloads) > 1
    assert [entry for p in payloads for entry in notify.parse(p)] == ranges


class _Recording:
    """A transaction that only records the NOTIFYs sent into it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def notify(self, channel: str, payload: str) -> None:
        self.sent.append((channel, payload))


@pytest.fixture(scope="module")
async def redis_url() -> AsyncIterator[str]:
    async with private_redis() as url:
        yield url


@asynccontextmanager
async def _subscribed(url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(notify.CHANNEL)

    async def next_message() -> str:
        async with asyncio.timeout(DEFAULT_WITHIN):
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    data: bytes = message["data"]
                    return data.decode()

    try:
        yield next_message
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def test_redis_mode_sends_nothing_in_the_transaction_and_publishes_after_the_commit(
    redis_url: str,
) -> None:
    publisher = wakeups.publisher_for(redis_url)
    assert isinstance(publisher, _redis_publisher.RedisPublisher)
    transaction = _Recording()
    ranges = _ranges(3)
    marker = aioredis.Redis.from_url(redis_url)
    try:
        async with _subscribed(redis_url) as next_message:
            announced = await publisher.announce(transaction, ranges)
            # Published by the test between the announcement and the commit: it must come
            # first, so the announcement published nothing yet.
            await marker.publish(notify.CHANNEL, "marker")
            await announced.after_commit()
            received = [await next_message(), await next_message()]
    finally:
        await marker.aclose()
        await publisher.close()
    assert transaction.sent == []
    assert received[0] == "marker"
    assert notify.parse(received[1]) == ranges


async def test_while_redis_is_down_publishes_are_skipped_and_logged_once_and_so_is_recovery(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_redis_publisher, "_PAUSE_AFTER_FAILURE_S", 0.0)  # try every time
    port = free_port()
    publisher = wakeups.publisher_for(f"redis://127.0.0.1:{port}/0")
    try:
        with caplog.at_level(logging.INFO, logger="tracewire.wakeups"):
            for _ in range(3):
                await (await publisher.announce(_Recording(), _ranges(1))).after_commit()
            async with private_redis(port) as url, _subscribed(url) as next_message:
                ranges = _ranges(1)
                await (await publisher.announce(_Recording(), ranges)).after_commit()
                assert notify.parse(await next_message()) == ranges
    finally:
        await publisher.close()
    logged = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "tracewire.wakeups"]
    assert [level for level, _ in logged] == [logging.WARNING, logging.INFO]
    assert "publishing to Redis failed" in logged[0][1]
    assert "works again" in logged[1][1]


def test_the_redis_driver_is_imported_only_by_a_publisher_in_redis_mode() -> None:
    script = (
        "import sys\n"
        "from tracewire.db import wakeups\n"
        "wakeups.publisher_for(None)\n"
        "assert 'redis' not in sys.modules, 'Postgres mode imported redis'\n"
        "wakeups.publisher_for('redis://127.0.0.1:1/0')\n"
        "assert 'redis' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
