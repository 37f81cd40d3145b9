"""Consecutive events of one run, delivered in one message."""

import strawberry

from schema.types.run_event import RunEvent


@strawberry.type(
    description="Consecutive events of a run (one committed writer batch, or a page of the "
    "replay): one message instead of one per event, for busy runs."
)
class RunEventBatch:
    events: list[RunEvent] = strawberry.field(description="In seq order, never empty.")
    last_seq: int = strawberry.field(description="Pass this as `afterSeq` to resume.")
