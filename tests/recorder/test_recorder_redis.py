"""With `notify_url` set to Redis, the recorder wakes servers through Redis pub/sub after each
commit, and sends no Postgres NOTIFY."""

import asyncio
import logging
import uuid

import asyncpg
import orjson
import pytest
from redis import asyncio as aioredis

from tracewire.db.engine import driver_dsn
from tracewire.db.notify import CHANNEL as NOTIFY_CHANNEL
from tracewire.recorder import Recorder, RecorderSettings

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_the_payload_goes_to_redis_after_commit_and_postgres_gets_no_notify(
    database_url: str,
) -> None:
    redis = aioredis.Redis.from_url(REDIS_URL)
    pubsub = redis.pubsub()
    await pubsub.subscribe(NOTIFY_CHANNEL)
    listener = await asyncpg.connect(driver_dsn(database_url))
    notified: list[str] = []
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: notified.append(args[-1]))
    try:
        settings = RecorderSettings(org=f"redis-{uuid.uuid4().hex[:8]}", notify_url=REDIS_URL)
        rec = Recorder(database_url, settings=settings)
        with rec.run("bot") as run:
            run.info("hello")
        assert await asyncio.to_thread(rec.close, 10)
        payload = None
        async with asyncio.timeout(10):
            while payload is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    payload = orjson.loads(message["data"])
        # Published after the commit: the rows it points at are there already.
        (entry,) = [e for e in payload["runs"] if e[1] == str(run.id)]
        stored = await listener.fetchval(
            "SELECT max(seq) FROM run_events WHERE run_id = $1", run.id
        )
        assert entry[2:] == [1, stored]
        await asyncio.sleep(0.3)  # a NOTIFY, had one been sent, would have arrived by now
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
