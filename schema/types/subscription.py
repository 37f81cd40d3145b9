"""The root subscription type: live traces over graphql-transport-ws (and graphql-ws)."""

from collections.abc import AsyncGenerator
from functools import partial

import strawberry
from strawberry.types import Info

from tracewire.resolvers.context import Context
from tracewire.resolvers.dataloaders import Loaders
from tracewire.resolvers.live import watch_run_events, watch_runs
from tracewire.schema._shared_execution import live_roots
from tracewire.schema.types._field import subscription
from tracewire.schema.types.filters import RunFilter
from tracewire.schema.types.run import Run
from tracewire.schema.types.run_event import RunEvent
from tracewire.schema.types.run_event_batch import RunEventBatch


@strawberry.type(description="Live streams; authenticate in `connection_init`.")
class Subscription:
    @subscription(
        description="Every stored event of the run with seq > afterSeq, then each new one as "
        "it is committed: in seq order, each exactly once, also across reconnects (pass the "
        "last seq you saw). Steps show up when they start and again when they end."
    )
    async def run_events(
        self, info: Info[Context, None], run_id: strawberry.ID, after_seq: int = 0
    ) -> AsyncGenerator[RunEvent, None]:
        async for batch in watch_run_events(info.context, run_id, after_seq):
            for event in batch:
                # One root per event for every subscriber: executed once for all.
                key = ("event", event.run_id, event.seq)
                yield live_roots.root_for(key, partial(RunEvent.from_live, event))

    @subscription(
        description="The same stream as `runEvents`, a batch per message: what a busy run's "
        "viewer should use (one message per committed batch instead of one per event)."
    )
    async def run_event_batches(
        self, info: Info[Context, None], run_id: strawberry.ID, after_seq: int = 0
    ) -> AsyncGenerator[RunEventBatch, None]:
        async for batch in watch_run_events(info.context, run_id, after_seq):
            # Subscribers equally caught up get the same range: executed once for all.
            key = ("batch", batch[0].run_id, batch[0].seq, batch[-1].seq)
            yield live_roots.root_for(key, partial(RunEventBatch.from_live, batch))

    @subscription(
        description="The caller's runs as they are created and change (status, current "
        "node, totals), for a live runs table; `filter` as for `runs`."
    )
    async def run_updates(
        self, info: Info[Context, None], filter: RunFilter | None = None
    ) -> AsyncGenerator[Run, None]:
        context = info.context
        spec = filter.to_spec() if filter is not None else None
        async for row in watch_runs(context, spec):
            # Fresh loaders per event: a cached failedNodes would go stale between events.
            context.operation_loaders = Loaders.create(context.sessions, context.caller)
            yield Run.from_row(row)
