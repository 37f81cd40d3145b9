"""Redis pub/sub as the wake-up transport, for deployments where Postgres NOTIFY's
instance-wide commit lock is the ceiling. The recorder publishes the same payload after it
commits; Postgres stays the source of truth that subscribers catch up from.

broadcaster's own Redis backend stops listening for good when its connection drops; ours
reconnects with backoff and then publishes `RESYNC`, as the Postgres backend does.
"""

import asyncio
import contextlib
import logging
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tracewire.live.notifier import RESYNC

logger = logging.getLogger("tracewire.notifier")

_LOST = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisNotifyBackend(BroadcastBackend):
    def __init__(self, url: str, *, max_pending: int = 10_000, max_backoff: float = 5.0) -> None:
        self._url = url
        self._max_backoff = max_backoff
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max_pending)
        self._overflowed = False
        self._subscribed = asyncio.Event()
        self._redis: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self.reconnects = 0

    async def connect(self) -> None:
        self._redis = aioredis.Redis.from_url(self._url)
        await self._redis.ping()  # fail at startup, clearly, when Redis is not there
        self._listener = asyncio.create_task(self._listen(), name="tracewire-redis-listen")

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()

    async def subscribe(self, channel: str) -> None:
        # The listener (re)subscribes to every channel on each connection it opens.
        self._channels.add(channel)
        self._subscribed.set()

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, message: Any) -> None:
        assert self._redis is not None
        await self._redis.publish(channel, str(message))

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _listen(self) -> None:
        await self._subscribed.wait()
        backoff = 0.05
        first = True
        while True:
            assert self._redis is not None
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(*self._channels)
                if not first:
                    self._reconnected()
                first, backoff = False, 0.05
                confirmations = 0
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._enqueue(Event(message["channel"].decode(), message["data"].decode()))
                    elif message["type"] == "subscribe":
                        confirmations += 1
                        if confirmations > len(self._channels):
                            # redis-py reconnected and resubscribed on its own.
                            self._reconnected()
            except _LOST as exc:
                logger.warning("Redis subscription lost, retrying in %.2fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            finally:
                with contextlib.suppress(*_LOST):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _enqueue(self, event: Event) -> None:
        if self._overflowed and self._queue.empty():
            self._overflowed = False
            self._announce_resync()
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._overflowed = True

    def _reconnected(self) -> None:
        # What was published while the subscription was down is lost: everyone resyncs.
        self.reconnects += 1
        self._announce_resync()

    def _announce_resync(self) -> None:
        for channel in self._channels:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(Event(channel, RESYNC))
