"""One entry of a run's event log, as `runEvents` streams it."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from tracewire.db import models
from tracewire.db.enums import EventKind
from tracewire.live import LiveEvent
from tracewire.schema.types.step import Step

strawberry.enum(EventKind, description="What happened to the run.")


@strawberry.type(description="Something that happened to a run, in the run's seq order.")
class RunEvent:
    run_id: strawberry.ID = strawberry.field(description="The run.")
    seq: int = strawberry.field(
        description="Position in the run's event log, from 1, gap-free; resume with "
        "`runEvents(afterSeq:)` from the last one you saw."
    )
    kind: EventKind = strawberry.field(description="What happened.")
    step: Step | None = strawberry.field(
        description="The step the event is about, as it is when the event is delivered "
        "(a step that already ended shows its output even on its STEP_STARTED event)."
    )
    artifact_id: strawberry.ID | None = strawberry.field(description="The artifact added, if any.")
    data: JSON = strawberry.field(
        description="Small details, e.g. the new status; a status change made through the "
        "API also carries `previous`, `action` and the caller's `note`."
    )
    created_at: datetime = strawberry.field(description="When it was logged.")

    @classmethod
    def from_live(cls, event: LiveEvent) -> "RunEvent":
        return cls(
            run_id=strawberry.ID(str(event.run_id)),
            seq=event.seq,
            kind=EventKind(event.kind),
            step=Step.from_row(event.step) if event.step is not None else None,
            artifact_id=strawberry.ID(str(event.artifact_id)) if event.artifact_id else None,
            data=JSON(event.data),
            created_at=event.created_at,
        )

    @classmethod
    def from_row(cls, row: models.RunEvent, step: models.Step | None) -> "RunEvent":
        """From a stored event, with its step (loaded by the caller) as it is now."""
        return cls(
            run_id=strawberry.ID(str(row.run_id)),
            seq=row.seq,
            kind=EventKind(row.kind),
            step=Step.from_row(step) if step is not None else None,
            artifact_id=strawberry.ID(str(row.artifact_id)) if row.artifact_id else None,
            data=JSON(row.data),
            created_at=row.created_at,
        )
