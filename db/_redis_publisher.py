"""Wake-ups on Redis pub/sub, published after the writer's commit (`tracewire.db.wakeups`
with a Redis notify URL). The only module that imports the Redis driver on the writers' side.

A publish that fails is logged once (and its recovery once) and skipped, never retried and
never allowed to fail the write: subscribers catch up from Postgres. After a failure,
publishing pauses briefly, so a Redis that is down costs the writers nothing.
"""

import logging
import time
from collections.abc import Iterable

from redis import asyncio as aioredis

from tracewire.db import notify
from tracewire.db.wakeups import Announcement, Transaction

logger = logging.getLogger("tracewire.wakeups")

_TIMEOUT_S = 2.0
_PAUSE_AFTER_FAILURE_S = 1.0


class RedisPublisher:
    """Publishes on the channel every server in Redis mode subscribes to. Lives on the event
    loop that first publishes (the recorder's writer thread, or the server's); redis-py's
    pool reconnects by itself."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=_TIMEOUT_S, socket_timeout=_TIMEOUT_S
        )
        self._paused_until = 0.0
        self._failing = False

    async def announce(
        self, transaction: Transaction, ranges: Iterable[notify.Range]
    ) -> Announcement:
        # Nothing goes into the transaction: a subscriber woken before the commit would
        # read nothing new.
        return Announcement(tuple(notify.payloads(ranges)), self._publish)

    async def close(self) -> None:
        await self._redis.aclose()

    async def _publish(self, payloads: tuple[str, ...]) -> None:
        if time.monotonic() < self._paused_until:
            return
        try:
            for payload in payloads:
                await self._redis.publish(notify.CHANNEL, payload)
        except Exception as exc:  # redis-py raises many kinds; none may fail the write
            self._paused_until = time.monotonic() + _PAUSE_AFTER_FAILURE_S
            if not self._failing:
                logger.warning(
                    "tracewire: publishing to Redis failed (subscribers catch up from "
                    "Postgres): %s: %s",
                    type(exc).__name__,
                    exc,
                )
            self._failing = True
            return
        if self._failing:
            logger.info("tracewire: publishing to Redis works again")
            self._failing = False
