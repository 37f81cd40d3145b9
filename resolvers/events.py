"""Reading a run's event log in seq order (what live subscribers replay after `afterSeq`)."""

import uuid

from tracewire.db.models import RunEvent
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.pagination import Keyset, Page, paginate

MAX_EVENTS_PER_PAGE = 1000
# (run_id, seq) is the primary key: seq alone orders one run's events.
IN_SEQ_ORDER = Keyset(RunEvent.seq, RunEvent.run_id, unique=True)


async def list_events(
    context: Context, run_id: uuid.UUID, *, first: int, after: str | None
) -> Page[RunEvent]:
    stmt = scope.rows(context.caller, RunEvent).where(RunEvent.run_id == run_id)
    return await paginate(
        context.sessions,
        stmt,
        IN_SEQ_ORDER,
        first=first,
        after=after,
        max_first=MAX_EVENTS_PER_PAGE,
    )
