"""One step of a run: a node span, an LLM or tool call, a thought, an error..."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db import models
from schema.types.enums import StepStatus, StepType


@strawberry.type
class Step:
    id: strawberry.ID
    run_id: strawberry.ID
    seq: int = strawberry.field(description="Position in the run, from 1, gap-free.")
    parent_id: strawberry.ID | None
    name: str
    type: StepType
    status: StepStatus
    input: JSON | None
    output: JSON | None
    payload: JSON = strawberry.field(description="Type-specific details.")
    started_at: datetime
    ended_at: datetime | None
    latency_ms: float | None
    model: str | None
    vendor: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost: float | None = strawberry.field(description="In US dollars.")
    error_code: str | None
    error_message: str | None
    error_traceback: str | None
    row: strawberry.Private[models.Step]

    @classmethod
    def from_row(cls, row: models.Step) -> "Step":
        return cls(
            id=strawberry.ID(str(row.id)),
            run_id=strawberry.ID(str(row.run_id)),
            seq=row.seq,
            parent_id=strawberry.ID(str(row.parent_id)) if row.parent_id else None,
            name=row.name,
            type=StepType(row.type),
            status=StepStatus(row.status),
            input=row.input,
            output=row.output,
            payload=JSON(row.payload),
            started_at=row.started_at,
            ended_at=row.ended_at,
            latency_ms=row.latency_ms,
            model=row.model,
            vendor=row.vendor,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost=float(row.cost) if row.cost is not None else None,
            error_code=row.error_code,
            error_message=row.error_message,
            error_traceback=row.error_traceback,
            row=row,
        )
