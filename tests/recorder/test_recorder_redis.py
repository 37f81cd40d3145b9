"""With `notify_url` set to Redis, the recorder wakes servers through Redis pub/sub after each
commit, and sends no Postgres NOTIFY."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
from redis import asyncio as aioredis

from tests._poll import wait_until
from tests._redis import private_redis
from tracewire.db.engine import driver_dsn
from tracewire.db.notify import CHANNEL as NOTIFY_CHANNEL
from tracewire.recorder import Recorder, RecorderSettings


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    # Its own Redis: the shared one carries other test sessions' wake-ups on this channel.
    async with private_redis() as url:
        yield url


async def test_the_payload_goes_to_redis_after_commit_and_postgres_gets_no_notify(
    database_url: str, redis_url: str
) -> None:
    redis = aioredis.Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(NOTIFY_CHANNEL)
    listener = await asyncpg.connect(driver_dsn(database_url))
    notified: list[str] = []
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: notified.append(args[-1]))
    try:
        settings = RecorderSettings(org=f"redis-{uuid.uuid4().hex[:8]}", notify_url=redis_url)
        rec = Recorder(database_url, settings=settings)
        with rec.run("bot") as run:
            run.info("hello")
        assert await asyncio.to_thread(rec.close, 10)

        stored = await listener.fetchval(
            "SELECT max(seq) FROM run_events WHERE run_id = $1", run.id
        )
        # The run's seq ranges, as announced batch by batch (a loaded machine may commit
        # the run in more than one), until the last stored seq is announced.
        announced: list[list[int]] = []

        async def announced_to_the_end() -> bool:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                payload = orjson.loads(message["data"])
                announced.extend(e[2:] for e in payload["runs"] if e[1] == str(run.id))
            return bool(announced) and announced[-1][1] == stored

        await wait_until(announced_to_the_end, what=lambda: f"seqs up to {stored}: {announced}")
        # Every seq announced once, in order.
        assert [seq for first, last in announced for seq in range(first, last + 1)] == list(
            range(1, stored + 1)
        )
        # The query above went over the listening connection after the recorder's commits:
        # a NOTIFY sent by them would have been delivered before its answer.
        await asyncio.sleep(0)
        assert notified == []
    finally:
        await listener.close()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()


async def test_an_unreachable_redis_never_fails_a_batch(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = RecorderSettings(
        org=f"redis-{uuid.uuid4().hex[:8]}", notify_url="redis://127.0.0.1:1/0"
    )
    rec = Recorder(database_url, settings=settings)
    with caplog.at_level(logging.WARNING, logger="tracewire.wakeups"), rec.run("bot") as run:
        run.info("still stored")
    assert await asyncio.to_thread(rec.close, 10)
    assert rec.stats().failed_attempts == 0
    assert "publishing to Redis failed" in caplog.text
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM steps WHERE run_id = $1", run.id) == 1
    finally:
        await conn.close()
