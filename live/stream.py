"""A subscriber's view of one run: every stored event after `after_seq`, then live ones, in
seq order, each exactly once.

The listener is registered before the replay is read, so an event committed during the
replay arrives twice at most and is dropped by seq; a gap (lagging, resync, a lost
notification) is filled by reading the tables. Postgres is the source of truth; the
notifications only say when to look.

Events come in batches (one per committed writer batch, or a page of the replay) so that a
busy run costs one message per batch rather than one per event.
"""

import uuid
from collections.abc import AsyncIterator

from tracewire.live.hub import RunEventHub
from tracewire.live.reader import LiveEvent, LiveReader


async def run_event_batches(
    hub: RunEventHub, reader: LiveReader, run_id: uuid.UUID, after_seq: int = 0
) -> AsyncIterator[list[LiveEvent]]:
    with hub.listen_run(run_id) as listener:
        last = after_seq
        async for page in _stored(reader, run_id, last):
            yield page
            last = page[-1].seq
        while True:
            batch = await listener.get()
            if batch is None:
                async for page in _stored(reader, run_id, last):
                    yield page
                    last = page[-1].seq
                continue
            if not batch:
                continue
            if batch[0].seq > last + 1:  # a gap before this batch: fill it from the tables
                async for page in _stored(reader, run_id, last, batch[0].seq - 1):
                    yield page
                    last = page[-1].seq
            fresh = _after(batch, last)
            if fresh:
                yield fresh
                last = fresh[-1].seq


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


async def _stored(
    reader: LiveReader, run_id: uuid.UUID, after: int, upto: int | None = None
) -> AsyncIterator[list[LiveEvent]]:
    while True:
        page = await reader.events(run_id, after, upto)
        if page:
            yield page
        if not page or (upto is not None and page[-1].seq >= upto):
            return
        after = page[-1].seq
