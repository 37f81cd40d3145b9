"""A subscriber's view of one run: every stored event after `after_seq`, then live ones, in
seq order, each exactly once.

The listener is registered before the replay is read, so an event committed during the
replay arrives twice at most and is dropped by seq; a gap (lagging, resync, a lost
notification) is filled by reading the tables. Postgres is the source of truth; the
notifications only say when to look.

Events come in batches (one per committed writer batch, or a page of the replay) so that a
busy run costs one message per batch rather than one per event.

While the database is unreachable a stream neither ends nor errors: a failed read leaves it
behind, and it reads again when woken (the notifier's RESYNC once the database is back, any
notification, or a fallback timer). The backlog is then read in pages of up to 1000 events,
one page after the other with no wait in between: `runEventBatches` sends a page per
message; `runEvents` keeps one event per message and sends a page's events back to back.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

from tracewire.live.hub import Listener, RunEventHub
from tracewire.live.outage import database_unreachable
from tracewire.live.reader import LiveEvent, LiveReader

logger = logging.getLogger("tracewire.live")

# Only a fallback: the notifier's RESYNC wakes every stream as soon as the database is back.
# This covers a database that failed a read but never dropped the LISTEN connection.
RETRY_UNREACHABLE_S = 2.0


async def run_event_batches(
    hub: RunEventHub, reader: LiveReader, run_id: uuid.UUID, after_seq: int = 0
) -> AsyncIterator[list[LiveEvent]]:
    with hub.listen_run(run_id) as listener:
        last = after_seq
        behind = True  # the stored events come first
        while True:
            if behind:
                page = await _read_or_none(reader, run_id, last)
                if page:
                    yield page
                    last = page[-1].seq
                    continue  # the next page at once: the backlog goes out in one pass
                behind = page is None  # None: unreachable, read again when woken
            batch = await _next(listener, behind=behind)
            if batch is None:  # lagging, a resync, or the retry timer: read the tables
                behind = True
                continue
            if not batch:
                continue
            if batch[0].seq > last + 1:  # a gap before this batch: fill it from the tables
                behind = True
                continue
            fresh = _after(batch, last)
            if fresh:
                yield fresh
                last = fresh[-1].seq


async def _read_or_none(
    reader: LiveReader, run_id: uuid.UUID, after: int
) -> list[LiveEvent] | None:
    """The next page of stored events, or None while the database cannot be reached (the
    notifier logs that outage once; the stream just waits)."""
    try:
        return await reader.events(run_id, after)
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        logger.debug("reading run %s waits for the database: %s", run_id, exc)
        return None


async def _next(listener: Listener[LiveEvent], *, behind: bool) -> list[LiveEvent] | None:
    """The listener's next batch; when `behind`, None after the fallback retry interval."""
    try:
        async with asyncio.timeout(RETRY_UNREACHABLE_S if behind else None):
            return await listener.get()
    except TimeoutError:
        return None


def _after(batch: list[LiveEvent], last: int) -> list[LiveEvent]:
    # The hub's own list when all of it is new (the common case: no copy).
    return batch if batch[0].seq > last else [event for event in batch if event.seq > last]


async def run_events(
    hub: RunEventHub, reader: LiveReader, run_id: uuid.UUID, after_seq: int = 0
) -> AsyncIterator[LiveEvent]:
    """The same stream, one event at a time."""
    async for batch in run_event_batches(hub, reader, run_id, after_seq):
        for event in batch:
            yield event
