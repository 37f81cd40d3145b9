"""One run of an agent, with its usage totals, failed nodes and steps."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from db import models
from resolvers.steps import list_steps
from schema.types._field import field
from schema.types.enums import RunStatus, StepType
from schema.types.pagination import Connection
from schema.types.step import Step


@strawberry.type
class Run:
    id: strawberry.ID
    agent: str
    status: RunStatus
    user_id: str | None
    conversation_id: str | None
    input: JSON | None
    output: JSON | None
    metadata: JSON
    tags: list[str]
    current_node: str | None
    error_code: str | None
    error_message: str | None
    external_trace_url: str | None = strawberry.field(description="E.g. the Langfuse trace.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    step_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    cost: float = strawberry.field(description="In US dollars.")
    row: strawberry.Private[models.Run]

    @classmethod
    def from_row(cls, row: models.Run) -> "Run":
        return cls(
            id=strawberry.ID(str(row.id)),
            agent=row.agent,
            status=RunStatus(row.status),
            user_id=row.user_id,
            conversation_id=row.conversation_id,
            input=row.input,
            output=row.output,
            metadata=JSON(row.metadata_),
            tags=row.tags,
            current_node=row.current_node,
            error_code=row.error_code,
            error_message=row.error_message,
            external_trace_url=row.external_trace_url,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            step_count=row.step_count,
            error_count=row.error_count,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost=float(row.cost),
            row=row,
        )

    @field(description="Start to finish; null until the run has finished.")
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000

    @field(description="Distinct names of failed `NODE` steps, in seq order.")
    async def failed_nodes(self, info: Info[Context, None]) -> list[str]:
        return await info.context.loaders.failed_nodes.load(self.row.id)

    @field(description="The run's steps in seq order (at most 1000 per page).")
    async def steps(
        self,
        info: Info[Context, None],
        first: int = 100,
        after: str | None = None,
        types: list[StepType] | None = None,
    ) -> Connection[Step]:
        page = await list_steps(info.context, self.row.id, first=first, after=after, types=types)
        return Connection.from_page(page, Step.from_row)
