"""A subscriber's view of one run: every stored event after `after_seq`, then live ones, in
seq order, each exactly once.

The listener is registered before the replay is read, so an event committed during the
replay arrives twice at most and is dropped by seq; a gap (lagging, resync, a lost
notification) is filled by reading the tables. Postgres is the source of truth; the
notifications only say when to look.
"""

import uuid
from collections.abc import AsyncIterator

from api.live.hub import RunEventHub
from api.live.reader import LiveEvent, LiveReader


async def run_events(
    hub: RunEventHub, reader: LiveReader, run_id: uuid.UUID, after_seq: int = 0
) -> AsyncIterator[LiveEvent]:
    with hub.listen_run(run_id) as listener:
        last = after_seq
        async for event in _stored(reader, run_id, last):
            yield event
            last = event.seq
        while True:
            batch = await listener.get()
            if batch is None:
                async for event in _stored(reader, run_id, last):
                    yield event
                    last = event.seq
                continue
            for event in batch:
                if event.seq <= last:
                    continue
                if event.seq > last + 1:
                    async for missed in _stored(reader, run_id, last, event.seq - 1):
                        yield missed
                        last = missed.seq
                yield event
                last = event.seq


async def _stored(
    reader: LiveReader, run_id: uuid.UUID, after: int, upto: int | None = None
) -> AsyncIterator[LiveEvent]:
    while True:
        page = await reader.events(run_id, after, upto)
        for event in page:
            yield event
        if not page or (upto is not None and page[-1].seq >= upto):
            return
        after = page[-1].seq
