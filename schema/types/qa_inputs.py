"""Inputs of the QA sampling mutations."""

import strawberry

from tracewire.resolvers.qa import DEFAULT_CHECKLIST, MAX_DRAW
from tracewire.schema.types.enums import QaResult, QaSubject, StepType
from tracewire.schema.types.filters import RunFilter


@strawberry.input(description="What to draw for QA: `size` random runs or steps into a bucket.")
class DrawQaSamplesInput:
    bucket: str = strawberry.field(description="The bucket's name, e.g. `High` or `weekly`.")
    size: int = strawberry.field(description=f"How many to draw (1 to {MAX_DRAW}).")
    subject: QaSubject = strawberry.field(
        default=QaSubject.RUN, description="Draw whole runs, or single steps."
    )
    runs: RunFilter | None = strawberry.field(
        default=None, description="Draw from these runs (or their steps); all runs if left out."
    )
    step_types: list[StepType] | None = strawberry.field(
        default=None, description="For step samples: only steps of these types."
    )
    step_names: list[str] | None = strawberry.field(
        default=None, description="For step samples: only steps with these names."
    )
    checklist: list[str] | None = strawberry.field(
        default=None,
        description=f"The checks a reviewer ticks (default: {', '.join(DEFAULT_CHECKLIST)}).",
    )


@strawberry.input(description="One ticked checklist item.")
class QaCheckInput:
    name: str = strawberry.field(description="The check's name.")
    passed: bool | None = strawberry.field(default=None, description="Passed, failed, or unset.")


@strawberry.input(description="A reviewer's verdict on a QA sample.")
class RecordQaResultInput:
    sample_id: strawberry.ID = strawberry.field(description="The sample.")
    result: QaResult = strawberry.field(description="PASS, FAIL, or back to NEEDS_REVIEW.")
    checks: list[QaCheckInput] | None = strawberry.field(
        default=None, description="The checklist with its ticks (replaces the stored one)."
    )
    notes: str | None = strawberry.field(default=None, description="Free text.")
