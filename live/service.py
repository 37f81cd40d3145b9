"""Everything live a server process runs, started and stopped together: the wake-up
listener (Postgres LISTEN, or Redis), the fan-out hub, the stalled-run sweep, and the
wake-up publisher the server's own writers (the sweep, lifecycle mutations) go through. One
notify URL picks both sides of the transport."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from broadcaster import Broadcast, BroadcastBackend
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tracewire.db.wakeups import Publisher, publisher_for
from tracewire.live.hub import CHANNEL, RunEventHub
from tracewire.live.liveness import sweep_forever
from tracewire.live.notifier import PostgresNotifyBackend
from tracewire.live.reader import LiveReader


@dataclass(frozen=True, slots=True)
class Live:
    hub: RunEventHub
    reader: LiveReader
    wakeups: Publisher


def wake_up_backend(database_url: str, notify_url: str | None) -> BroadcastBackend:
    if notify_url is None:
        return PostgresNotifyBackend(database_url, channels=[CHANNEL])
    from tracewire.live.redis_notifier import RedisNotifyBackend  # redis only where configured

    return RedisNotifyBackend(notify_url)


@contextlib.asynccontextmanager
async def running_live(
    *,
    database_url: str,
    notify_url: str | None,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    stall_after: float,
) -> AsyncIterator[Live]:
    reader = LiveReader(sessions)
    hub = RunEventHub(reader)
    wakeups = publisher_for(notify_url)
    silence, sweep_interval = timedelta(seconds=stall_after), max(1.0, stall_after / 4)
    try:
        async with Broadcast(backend=wake_up_backend(database_url, notify_url)) as broadcast:
            tasks = [
                _start(hub.consume(broadcast), "tracewire-fanout"),
                _start(
                    sweep_forever(engine, silence, sweep_interval, wakeups),
                    "tracewire-stall-sweep",
                ),
            ]
            try:
                await hub.wait_subscribed(tasks[0])
                yield Live(hub, reader, wakeups)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    finally:
        await wakeups.close()


def _start(work: Coroutine[Any, Any, None], name: str) -> "asyncio.Task[None]":
    return asyncio.create_task(work, name=name)
