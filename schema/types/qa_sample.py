"""A run or step drawn for a manual quality check, with its checklist and verdict."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from tracewire.db import models
from tracewire.resolvers.context import Context
from tracewire.schema.types._field import field
from tracewire.schema.types.enums import QaResult, QaSubject
from tracewire.schema.types.run import Run
from tracewire.schema.types.step import Step


@strawberry.type(description="One item of a QA checklist.")
class QaCheck:
    name: str = strawberry.field(description="What to check, e.g. `grounded`.")
    passed: bool | None = strawberry.field(description="The reviewer's tick; null until checked.")


def _checks(raw: Any) -> list[QaCheck]:
    items = raw if isinstance(raw, list) else []
    return [
        QaCheck(name=str(item.get("name")), passed=item.get("passed"))
        for item in items
        if isinstance(item, dict)
    ]


@strawberry.type(description="A run or step sampled for QA, with its checklist and verdict.")
class QaSample:
    id: strawberry.ID = strawberry.field(description="The sample's id.")
    bucket: str = strawberry.field(description="The bucket it was drawn into, e.g. `High`.")
    subject: QaSubject = strawberry.field(description="Whether a whole run or one step.")
    checks: list[QaCheck] = strawberry.field(description="The checklist, in order.")
    result: QaResult = strawberry.field(description="The verdict so far.")
    notes: str | None = strawberry.field(description="The reviewer's notes.")
    created_at: datetime = strawberry.field(description="When it was drawn.")
    reviewed_at: datetime | None = strawberry.field(description="When a verdict was recorded.")
    row: strawberry.Private[models.QaSample]

    @classmethod
    def from_row(cls, row: models.QaSample) -> "QaSample":
        return cls(
            id=strawberry.ID(str(row.id)),
            bucket=row.bucket,
            subject=QaSubject.STEP if row.step_id else QaSubject.RUN,
            checks=_checks(row.checks),
            result=QaResult(row.result),
            notes=row.notes,
            created_at=row.created_at,
            reviewed_at=row.reviewed_at,
            row=row,
        )

    @field(description="The run sampled, or the run of the step sampled.")
    async def run(self, info: Info[Context, None]) -> Run | None:
        row = await info.context.loaders.runs_by_id.load(self.row.run_id)
        return Run.from_row(row) if row is not None else None

    @field(description="The step sampled; null for a run sample.")
    async def step(self, info: Info[Context, None]) -> Step | None:
        if self.row.step_id is None:
            return None
        row = await info.context.loaders.steps_by_id.load(self.row.step_id)
        return Step.from_row(row) if row is not None else None
