"""One run of an agent, with its usage totals, failed nodes, steps, tree and event log."""

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from tracewire.db import models
from tracewire.resolvers.context import Context
from tracewire.resolvers.events import MAX_EVENTS_PER_PAGE, list_events
from tracewire.resolvers.filters import StepSelection
from tracewire.resolvers.steps import MAX_STEPS_PER_PAGE, MAX_TREE_STEPS, list_steps, step_tree
from tracewire.schema.types._field import field
from tracewire.schema.types.artifact import Artifact
from tracewire.schema.types.enums import RunStatus, StepType
from tracewire.schema.types.pagination import Connection
from tracewire.schema.types.run_event import RunEvent
from tracewire.schema.types.step import Step
from tracewire.schema.types.step_tree import StepTree
from tracewire.schema.types.usage import VendorUsage

AFTER = "`pageInfo.endCursor` of the previous page."


@strawberry.type(description="One run of an agent: its status, input and output, totals.")
class Run:
    id: strawberry.ID = strawberry.field(description="The run's id.")
    agent: str = strawberry.field(description="The agent (graph, pipeline) that ran.")
    status: RunStatus = strawberry.field(description="Where the run is in its lifecycle.")
    user_id: str | None = strawberry.field(description="The end user it ran for.")
    conversation_id: str | None = strawberry.field(description="Its conversation or session.")
    input: JSON | None = strawberry.field(description="What the run was asked.")
    output: JSON | None = strawberry.field(description="What it answered.")
    metadata: JSON = strawberry.field(description="Free-form metadata, as recorded.")
    tags: list[str] = strawberry.field(description="Labels, e.g. `prod`, `nightly`.")
    current_node: str | None = strawberry.field(description="The node it is in (or ended in).")
    error_code: str | None = strawberry.field(description="Why it failed, as a code.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    external_trace_url: str | None = strawberry.field(description="E.g. the Langfuse trace.")
    created_at: datetime = strawberry.field(description="When it was created.")
    started_at: datetime | None = strawberry.field(description="When it started running.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    step_count: int = strawberry.field(description="Steps recorded so far.")
    error_count: int = strawberry.field(description="Failed steps so far.")
    input_tokens: int = strawberry.field(description="LLM prompt tokens, all steps.")
    output_tokens: int = strawberry.field(description="LLM completion tokens, all steps.")
    cost: float = strawberry.field(description="In US dollars, all steps.")
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

    @field(
        description="One line on what went wrong: the run's own error, else its first failed "
        "step's (`node: message`); null when nothing failed."
    )
    async def error_summary(self, info: Info[Context, None]) -> str | None:
        if self.row.error_message or self.row.error_code:
            return ": ".join(p for p in (self.row.error_code, self.row.error_message) if p)
        step = await info.context.loaders.first_failures.load(self.row.id)
        if step is None:
            return None
        return f"{step.name}: {step.error_message or step.error_code or 'failed'}"

    @field(description="Usage by vendor and model (LLM calls, tools, vendor counters).")
    async def usage(self, info: Info[Context, None]) -> list[VendorUsage]:
        return [
            VendorUsage.of(line) for line in await info.context.loaders.run_usage.load(self.row.id)
        ]

    @field(description="Files the run produced.")
    async def artifacts(self, info: Info[Context, None]) -> list[Artifact]:
        rows = await info.context.loaders.run_artifacts.load(self.row.id)
        return [Artifact.from_row(row) for row in rows]

    @field(description=f"The run's steps in seq order (at most {MAX_STEPS_PER_PAGE} per page).")
    async def steps(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="Page size.")] = 100,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
        types: Annotated[
            list[StepType] | None, strawberry.argument(description="Only steps of these types.")
        ] = None,
        nodes: Annotated[
            list[str] | None, strawberry.argument(description="Only steps with these names.")
        ] = None,
    ) -> Connection[Step]:
        selection = StepSelection.of(types, nodes)
        page = await list_steps(
            info.context, self.row.id, first=first, after=after, selection=selection
        )
        return Connection.from_page(page, Step.from_row)

    @field(description="The run's steps as a tree, depth-first (for the tree view).")
    async def tree(
        self,
        info: Info[Context, None],
        first: Annotated[
            int,
            strawberry.argument(description=f"At most this many steps (≤ {MAX_TREE_STEPS})."),
        ] = 1000,
    ) -> StepTree:
        return StepTree.of(await step_tree(info.context, self.row.id, limit=first))

    @field(
        description=f"The run's event log in seq order (at most {MAX_EVENTS_PER_PAGE} per page)."
    )
    async def events(
        self,
        info: Info[Context, None],
        first: Annotated[int, strawberry.argument(description="Page size.")] = 100,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[RunEvent]:
        page = await list_events(info.context, self.row.id, first=first, after=after)
        step_ids = {row.step_id for row in page.rows if row.step_id is not None}
        loaded = await info.context.loaders.steps_by_id.load_many(list(step_ids))
        steps = {step.id: step for step in loaded if step is not None}
        return Connection.from_page(
            page,
            lambda row: RunEvent.from_row(row, steps.get(row.step_id) if row.step_id else None),
        )
