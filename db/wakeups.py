"""The one door for waking live subscribers after run events were written. Every writer of
run events goes through it: the recorder's Postgres sink (and so OTLP ingestion and the demo
agent, which record through the recorder), the API's lifecycle mutations and the
stalled-run sweep.

Each process picks its publisher once, from its notify URL (`publisher_for`):

- none: Postgres NOTIFY, sent inside the writer's transaction, so Postgres delivers it at
  the commit that makes the rows visible, and never for a transaction that rolled back;
- a Redis URL: Redis pub/sub, published after the commit (NOTIFY takes an instance-wide
  lock at every commit that carries one, the ceiling of large deployments). A publish that
  fails is logged and skipped: subscribers catch up from Postgres, the source of truth.

A writer announces its runs' new seq ranges in the open transaction, then tells the
announcement once the transaction committed::

    async with engine.begin() as conn:
        ...
        announced = await publisher.announce(SqlAlchemyTransaction(conn), ranges)
    await announced.after_commit()

The message is `tracewire.db.notify`'s (ids and seq ranges, one per batch, split only to stay
under NOTIFY's size limit). The writer's connection reaches the publisher through one small
seam, `Transaction`, that the asyncpg connection and SQLAlchemy's session and connection
are adapted to.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text

from tracewire.db import notify

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class Transaction(Protocol):
    """A writer's open transaction, as far as a wake-up needs it: one NOTIFY sent in it."""

    async def notify(self, channel: str, payload: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AsyncpgTransaction:
    """An asyncpg connection inside `conn.transaction()` (the recorder's sink)."""

    conn: "asyncpg.Connection"

    async def notify(self, channel: str, payload: str) -> None:
        await self.conn.execute("SELECT pg_notify($1, $2)", channel, payload)


@dataclass(frozen=True, slots=True)
class SqlAlchemyTransaction:
    """A SQLAlchemy AsyncSession or AsyncConnection inside `begin()` (the server's writers)."""

    conn: "AsyncSession | AsyncConnection"

    async def notify(self, channel: str, payload: str) -> None:
        await self.conn.execute(_NOTIFY, {"channel": channel, "payload": payload})


@dataclass(frozen=True, slots=True)
class Announcement:
    """What a writer announced in its transaction. `after_commit()` once that committed:
    nothing left to do where the message went with the transaction, the publish otherwise."""

    payloads: tuple[str, ...]
    publish: Callable[[tuple[str, ...]], Awaitable[None]] | None = None

    async def after_commit(self) -> None:
        if self.publish is not None and self.payloads:
            await self.publish(self.payloads)


class Publisher(Protocol):
    """Wakes the servers' live subscribers of runs whose events a writer committed."""

    async def announce(
        self, transaction: Transaction, ranges: Iterable[notify.Range]
    ) -> Announcement:
        """Announce (org id, run id, first seq, last seq) `ranges` written in
        `transaction`, which is still open; call `after_commit()` on the result once it
        committed. Raises only what the transaction itself raises."""
        ...

    async def close(self) -> None: ...


class PostgresPublisher:
    """NOTIFY on the channel every server LISTENs to, inside the writer's transaction."""

    async def announce(
        self, transaction: Transaction, ranges: Iterable[notify.Range]
    ) -> Announcement:
        payloads = tuple(notify.payloads(ranges))
        for payload in payloads:
            await transaction.notify(notify.CHANNEL, payload)
        return Announcement(payloads)  # Postgres delivers it at commit

    async def close(self) -> None:
        return None


def publisher_for(notify_url: str | None) -> Publisher:
    """The process's publisher: Postgres NOTIFY without a URL, Redis pub/sub with a Redis
    URL (the `redis` extra; its driver is imported only then)."""
    if notify_url is None:
        return PostgresPublisher()
    from tracewire.db._redis_publisher import RedisPublisher

    return RedisPublisher(notify_url)
