"""Consecutive events of one run, delivered in one message."""

from collections.abc import Sequence

import strawberry

from tracewire.live import LiveEvent
from tracewire.schema.types.run_event import RunEvent


@strawberry.type(
    description="Consecutive events of a run (one committed writer batch, or a page of the "
    "replay): one message instead of one per event, for busy runs."
)
class RunEventBatch:
    events: list[RunEvent] = strawberry.field(description="In seq order, never empty.")
    last_seq: int = strawberry.field(description="Pass this as `afterSeq` to resume.")

    @classmethod
    def from_live(cls, batch: Sequence[LiveEvent]) -> "RunEventBatch":
        return cls(events=[RunEvent.from_live(event) for event in batch], last_seq=batch[-1].seq)
