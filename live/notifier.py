"""The server's one LISTEN connection, as a `broadcaster` backend that survives drops.

broadcaster's own Postgres backend holds one asyncpg connection and never notices when it
dies. Ours watches the connection (asyncpg's termination callback plus a periodic
`SELECT 1`), reconnects with backoff, LISTENs again, and then publishes `RESYNC` on every
channel: notifications sent while we were away are gone, so subscribers must catch up from
the tables. The same happens when the hub falls behind and our bounded queue fills.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

import asyncpg
from broadcaster import BroadcastBackend, Event

from tracewire.db.engine import driver_dsn

logger = logging.getLogger("tracewire.notifier")

RESYNC = "resync"
"""Message meaning: notifications may have been lost; re-read from the tables."""

APPLICATION_NAME = "tracewire-listen"
"""How the LISTEN connection shows in `pg_stat_activity`."""

_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresNotifyBackend(BroadcastBackend):
    """LISTEN/NOTIFY on a dedicated connection (never a pooled one: a pool's reset does
    `UNLISTEN *`), reconnecting when it drops.

    `channels` are LISTENed as part of opening the connection, in `connect()`, so that
    `Broadcast.subscribe` on them does no I/O: broadcaster's `subscribe`, cancelled while
    its backend's `subscribe` is in flight (a server stopped as it starts), fails its own
    cleanup with a KeyError. Other channels are LISTENed when subscribed.

    While the database is unreachable the backend retries every `max_backoff` seconds at
    most (a refused connection costs next to nothing), so subscribers resync within about
    that long of its return; it logs one warning per outage and one line when it is over.
    """

    def __init__(
        self,
        database_url: str,
        *,
        channels: Iterable[str] = (),
        liveness_interval: float = 5.0,
        max_pending: int = 10_000,
        max_backoff: float = 0.5,
    ) -> None:
        self._dsn = driver_dsn(database_url)
        self._liveness_interval = liveness_interval
        self._max_backoff = max_backoff
        self._declared = frozenset(channels)
        self._channels: set[str] = set(self._declared)
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max_pending)
        self._overflowed = False
        self._conn: asyncpg.Connection | None = None
        # One statement at a time on the connection: the liveness check and a LISTEN
        # issued together fail with "another operation is in progress".
        self._using = asyncio.Lock()
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.reconnects = 0

    async def connect(self) -> None:
        self._conn = await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="tracewire-listen")

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)
            if not conn.is_closed():
                conn.terminate()  # the database hangs: do not wait for its goodbye

    async def subscribe(self, channel: str) -> None:
        if channel in self._channels:
            return  # LISTENed with the connection (see the class docstring)
        self._channels.add(channel)
        async with self._using:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.add_listener(channel, self._on_notify)

    async def unsubscribe(self, channel: str) -> None:
        if channel in self._declared:
            return  # LISTENed for the connection's whole life
        self._channels.discard(channel)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._liveness_interval), self._using:
                if self._conn is not None and not self._conn.is_closed():
                    await self._conn.remove_listener(channel, self._on_notify)

    async def publish(self, channel: str, message: Any) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.execute("SELECT pg_notify($1, $2)", channel, str(message))
        finally:
            await conn.close()

    async def next_published(self) -> Event:
        return await self._queue.get()

    @property
    def backend_pid(self) -> int | None:
        """The LISTEN connection's server process (tests terminate it to simulate a drop)."""
        return self._conn.get_server_pid() if self._conn is not None else None

    async def _open(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            conn.add_termination_listener(lambda _conn: self._lost.set())
            for channel in self._channels:
                await conn.add_listener(channel, self._on_notify)
        except BaseException:
            conn.terminate()  # cancelled or failed halfway: leave no connection behind
            raise
        return conn

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self._enqueue(Event(channel, payload))

    def _enqueue(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Dropping a hint is safe as long as subscribers are told to catch up.
            self._overflowed = True

    async def _supervise(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self._liveness_interval)
            if self._overflowed and self._queue.empty():
                self._overflowed = False
                self._announce_resync()
            if self._lost.is_set() or not await self._alive():
                await self._reconnect()

    async def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            async with asyncio.timeout(self._liveness_interval), self._using:
                await conn.fetchval("SELECT 1")
        except (TimeoutError, *_LOST):
            return False
        return True

    async def _reconnect(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None
        lost_at = time.monotonic()
        # Once per outage: a line per retry would bury the log.
        logger.warning(
            "the LISTEN connection to the database is lost; live streams wait for it "
            "(reconnecting every %.1fs at most)",
            self._max_backoff,
        )
        backoff = 0.05
        while True:
            self._lost.clear()
            try:
                self._conn = await self._open()
            except (TimeoutError, *_LOST) as exc:
                logger.debug("reconnecting the LISTEN connection failed: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            break
        self.reconnects += 1
        logger.info(
            "LISTEN connection re-established after %.1fs; subscribers resync",
            time.monotonic() - lost_at,
        )
        self._announce_resync()

    def _announce_resync(self) -> None:
        for channel in self._channels:
            self._enqueue(Event(channel, RESYNC))
