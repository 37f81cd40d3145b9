"""Writes recorder batches straight into Postgres, one transaction per batch (see
`batch_store`).

Runs in the writer thread on a private event loop, so asyncpg never meets the agent's loop.
"""

import asyncio
import contextlib

import asyncpg

from tracewire.db import wakeups
from tracewire.db.engine import driver_dsn
from tracewire.db.enums import RunStatus
from tracewire.recorder import _sql
from tracewire.recorder._records import Batch
from tracewire.recorder.batch_store import BatchStore, Submitted, connect
from tracewire.recorder.settings import redact_url


class PostgresSink:
    """Writes batches into Postgres. With `notify_url` (a Redis URL) the wake-up payloads go
    to Redis pub/sub after each commit instead of NOTIFY inside the transaction."""

    def __init__(self, database_url: str, notify_url: str | None = None) -> None:
        self._dsn = driver_dsn(database_url)
        self.destination = redact_url(database_url)
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = None
        self._store = BatchStore(wakeups.publisher_for(notify_url))

    def write(self, batch: Batch) -> None:
        self._loop.run_until_complete(self._write(batch))

    def heartbeat(self, run_ids: list[str]) -> None:
        """Mark open runs (hex ids) as alive: `runs.updated_at = now()`. A run locked by a
        batch in flight is skipped; that batch refreshes it."""
        self._loop.run_until_complete(self._heartbeat(run_ids))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # nothing left to tell anyone
            self._loop.run_until_complete(self._store.close())
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                self._loop.run_until_complete(conn.close(timeout=2))
            except Exception:
                conn.terminate()
        self._loop.close()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self._dsn)
        return self._conn

    async def _write(self, batch: Batch) -> None:
        conn = await self._connection()
        submitted = Submitted(batch)
        try:
            await self._store.write(conn, [submitted])
        except BaseException:
            # The connection may be mid-transaction or broken: start clean next time.
            self._conn = None
            conn.terminate()
            raise
        if submitted.error is not None:
            raise submitted.error  # a run another process opens is not committed yet

    async def _heartbeat(self, run_ids: list[str]) -> None:
        conn = await self._connection()
        try:
            await conn.execute(_sql.HEARTBEAT, run_ids, RunStatus.RUNNING.value)
        except BaseException:
            self._conn = None
            conn.terminate()
            raise
