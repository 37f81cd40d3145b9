"""Publishes the recorder's wake-up payloads on Redis pub/sub, after the batch committed.

Used instead of Postgres NOTIFY when `RecorderSettings.notify_url` is a Redis URL: NOTIFY
takes an instance-wide lock at every commit that carries one, which becomes the ceiling of
large deployments. A publish that fails is logged and skipped, never retried and never
allowed to fail the batch: subscribers catch up from Postgres, the source of truth. After a
failure, publishing pauses briefly, so a Redis that is down costs the writer nothing.
"""

import logging
import time

from redis import asyncio as aioredis

logger = logging.getLogger("tracewire.recorder")

_TIMEOUT_S = 2.0
_PAUSE_AFTER_FAILURE_S = 1.0


class RedisPublisher:
    """Lives on the writer thread's event loop; redis-py's pool reconnects by itself."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=_TIMEOUT_S, socket_timeout=_TIMEOUT_S
        )
        self._paused_until = 0.0
        self._failing = False

    async def publish(self, channel: str, payloads: list[str]) -> None:
        if not payloads or time.monotonic() < self._paused_until:
            return
        try:
            for payload in payloads:
                await self._redis.publish(channel, payload)
        except Exception as exc:  # redis-py raises many kinds; none may fail the batch
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

    async def close(self) -> None:
        await self._redis.aclose()
