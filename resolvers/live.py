"""Subscriptions: a run's events as they happen, and the caller's runs as they change.

Access is checked once, when the subscription starts, through the same org-scoped read as
`run(id)`; the stream then follows that one run.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from tracewire.db.models import Run
from tracewire.live import LiveEvent, run_event_batches
from tracewire.live.outage import database_unreachable
from tracewire.live.stream import RETRY_UNREACHABLE_S
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.errors import InvalidArgument, NotFound
from tracewire.resolvers.filters import RunFilterSpec
from tracewire.resolvers.runs import get_run

MAX_CATCH_UP_RUNS = 500


async def watch_run_events(
    context: Context, run_id: str, after_seq: int
) -> AsyncIterator[list[LiveEvent]]:
    """Batches of the run's events after `after_seq`: the stored ones, then live ones."""
    if after_seq < 0:
        raise InvalidArgument("afterSeq must be 0 or more")
    run = await get_run(context, run_id)
    if run is None:
        raise NotFound("run", run_id)
    async for batch in run_event_batches(context.hub, context.live_reader, run.id, after_seq):
        yield batch


async def watch_runs(context: Context, spec: RunFilterSpec | None) -> AsyncIterator[Run]:
    """Runs of the caller's org as the writer changes them, narrowed by `spec`. After a lag
    or a reconnect, the runs updated meanwhile are read back so no change goes unseen; while
    the database is unreachable the stream waits (the notifier's RESYNC, once it is back,
    or a retry timer wakes it) rather than ending."""
    caller = context.caller
    seen_until: datetime | None = None
    lagging = False
    missed: set[uuid.UUID] = set()  # changed runs whose read failed
    with context.hub.listen_org(caller.org_id) as listener:
        while True:
            try:
                async with asyncio.timeout(RETRY_UNREACHABLE_S if lagging or missed else None):
                    batch = await listener.get()
            except TimeoutError:
                batch = None
            changed = missed | {run.id for run in batch or ()}
            lagging = lagging or batch is None
            try:
                rows = await _updated_since(context, spec, seen_until) if lagging else []
                if changed and (spec is not None or missed or batch is None):
                    rows += await _matching(context, spec, list(changed))
                elif batch is not None:
                    rows += batch
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                missed = changed
                continue
            lagging, missed = False, set()
            for run in _unique(rows):
                if seen_until is None or run.updated_at > seen_until:
                    seen_until = run.updated_at
                yield run


def _unique(rows: list[Run]) -> list[Run]:
    by_id = {run.id: run for run in rows}
    return sorted(by_id.values(), key=lambda run: (run.updated_at, run.id))


async def _matching(
    context: Context, spec: RunFilterSpec | None, run_ids: list[uuid.UUID]
) -> list[Run]:
    # The hub shares unfiltered rows; a filter (failed node, error text...) needs the tables.
    query = scope.rows(context.caller, Run).where(Run.id.in_(run_ids))
    if spec is not None:
        query = spec.apply(context.caller, query)
    async with context.sessions() as session:
        return list(await session.scalars(query.order_by(Run.updated_at, Run.id)))


async def _updated_since(
    context: Context, spec: RunFilterSpec | None, since: datetime | None
) -> list[Run]:
    if since is None:
        return []
    query = scope.rows(context.caller, Run).where(Run.updated_at >= since)
    if spec is not None:
        query = spec.apply(context.caller, query)
    query = query.order_by(Run.updated_at, Run.id).limit(MAX_CATCH_UP_RUNS)
    async with context.sessions() as session:
        return list(await session.scalars(query))
