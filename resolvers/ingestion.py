"""Ingestion health: what the caller's recording processes last reported with their batches
(queue depth, spooled bytes, dropped records, batch latency)."""

from collections.abc import Sequence

from tracewire.db.models import RecorderHealth
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context

# Recorders that reported most recently first; a fleet larger than this shows its newest.
MAX_RECORDERS = 200


async def list_recorder_health(context: Context) -> Sequence[RecorderHealth]:
    stmt = (
        scope.rows(context.caller, RecorderHealth)
        .order_by(RecorderHealth.updated_at.desc(), RecorderHealth.recorder_id)
        .limit(MAX_RECORDERS)
    )
    async with context.sessions() as session:
        return list(await session.scalars(stmt))
