"""One step of a run: a node span, an LLM or tool call, a thought, an error..."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from tracewire.db import models
from tracewire.resolvers import span_details
from tracewire.resolvers.context import Context
from tracewire.schema.types._field import field
from tracewire.schema.types._values import MAX_INLINE_BYTES, inline, is_large
from tracewire.schema.types.artifact import Artifact
from tracewire.schema.types.enums import StepStatus, StepType
from tracewire.schema.types.retrieved_document import RetrievedDocument
from tracewire.schema.types.span_event import SpanEvent
from tracewire.schema.types.step_payload import StepDetails, details_of

if TYPE_CHECKING:
    from tracewire.schema.types.run import Run

FULL = f"Give the whole value even when its JSON is over {MAX_INLINE_BYTES // 1024} KB."


@strawberry.type(description="One step of a run: a node, an LLM or tool call, a thought...")
class Step:
    id: strawberry.ID = strawberry.field(description="The step's id.")
    run_id: strawberry.ID = strawberry.field(description="The run it belongs to.")
    seq: int = strawberry.field(description="Position in the run, from 1, gap-free.")
    parent_id: strawberry.ID | None = strawberry.field(
        description="The step it ran inside (a node, for an LLM call); null for top level."
    )
    name: str = strawberry.field(description="Node, stage, tool or model name.")
    type: StepType = strawberry.field(description="What the step is.")
    status: StepStatus = strawberry.field(description="Whether it is going, done or failed.")
    started_at: datetime = strawberry.field(description="When it started.")
    ended_at: datetime | None = strawberry.field(description="When it ended; null while going.")
    latency_ms: float | None = strawberry.field(description="How long it took.")
    model: str | None = strawberry.field(description="The LLM used, if any.")
    vendor: str | None = strawberry.field(description="The service called, if any.")
    input_tokens: int | None = strawberry.field(description="LLM prompt tokens.")
    output_tokens: int | None = strawberry.field(description="LLM completion tokens.")
    cost: float | None = strawberry.field(description="In US dollars.")
    error_code: str | None = strawberry.field(description="E.g. the exception's class name.")
    error_message: str | None = strawberry.field(description="What went wrong.")
    error_traceback: str | None = strawberry.field(description="The Python traceback, if any.")
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

    @field(description="What went in. A large value is cut to a preview string; see `full`.")
    def input(
        self, full: Annotated[bool, strawberry.argument(description=FULL)] = False
    ) -> JSON | None:
        return JSON(inline(self.row.input, full=full))

    @field(description="What came out. A large value is cut to a preview string; see `full`.")
    def output(
        self, full: Annotated[bool, strawberry.argument(description=FULL)] = False
    ) -> JSON | None:
        return JSON(inline(self.row.output, full=full))

    @field(description="The raw type-specific JSON, as recorded; large ones cut unless `full`.")
    def payload(self, full: Annotated[bool, strawberry.argument(description=FULL)] = False) -> JSON:
        return JSON(inline(self.row.payload, full=full))

    @field(
        description=f"True when input, output or payload is over {MAX_INLINE_BYTES // 1024} KB "
        "of JSON, so lists show previews: ask for it with `full: true` (e.g. via `step(id)`)."
    )
    def truncated(self) -> bool:
        return is_large(self.row.input, self.row.output, self.row.payload)

    @field(description="The step's details, typed by its step type.")
    def details(
        self, full: Annotated[bool, strawberry.argument(description=FULL)] = False
    ) -> StepDetails:
        return details_of(self.row, full=full)

    @field(
        description="Prompt tokens read from the vendor's prompt cache: a part of "
        "`inputTokens`, priced at the model's cache-read rate. Null when not reported."
    )
    def cached_input_tokens(self) -> int | None:
        return span_details.cache_read_tokens(self.row.payload)

    @field(
        description="Prompt tokens written to the vendor's prompt cache (Anthropic bills them "
        "above the input rate): a part of `inputTokens`. Null when not reported."
    )
    def cache_creation_input_tokens(self) -> int | None:
        return span_details.cache_write_tokens(self.row.payload)

    @field(
        description="What a retrieval step returned (OpenInference `retrieval.documents`, or a "
        "reranker's output documents), in order; empty for other steps."
    )
    def documents(self) -> list[RetrievedDocument]:
        return [RetrievedDocument.of(d) for d in span_details.documents(self.row.payload)]

    @field(
        description="The system prompt of an LLM call as text (OTel GenAI "
        "`gen_ai.system_instructions`, else the prompt's system messages); null if none."
    )
    def system_instructions(self) -> str | None:
        return span_details.system_instructions(self.row.payload)

    @field(
        description="The settings an LLM call was made with (temperature, max_tokens...), "
        "from OpenInference `llm.invocation_parameters`, OTel GenAI `gen_ai.request.*` and "
        "Langfuse model parameters, as one object; null if none were sent."
    )
    def invocation_parameters(self) -> JSON | None:
        return JSON(span_details.invocation_parameters(self.row.payload))

    @field(
        description="The tools offered to an LLM call, each a JSON schema as sent (OTel GenAI "
        "`gen_ai.tool.definitions` or OpenInference `llm.tools`): a list, or a preview string "
        "when large unless `full`; null if none."
    )
    def tool_definitions(
        self, full: Annotated[bool, strawberry.argument(description=FULL)] = False
    ) -> JSON | None:
        return JSON(inline(span_details.tool_definitions(self.row.payload), full=full))

    @field(
        description="The events of the OpenTelemetry span this step was recorded from, in the "
        "order sent, recorded exceptions included; empty for steps not sent over OTLP."
    )
    def span_events(self) -> list[SpanEvent]:
        return [SpanEvent.of(e) for e in span_details.span_events(self.row.payload)]

    @field(description="The OpenTelemetry trace id (32 hex digits), for steps sent over OTLP.")
    def otel_trace_id(self) -> str | None:
        return span_details.otel_trace_id(self.row.payload)

    @field(description="The OpenTelemetry span id (16 hex digits), for steps sent over OTLP.")
    def otel_span_id(self) -> str | None:
        return span_details.otel_span_id(self.row.payload)

    @field(description="Steps that ran inside this one, in seq order (at most 1000).")
    async def children(self, info: Info[Context, None]) -> list["Step"]:
        rows = await info.context.loaders.step_children.load((self.row.run_id, self.row.id))
        return [Step.from_row(row) for row in rows]

    @field(description="Files this step produced, oldest first.")
    async def artifacts(self, info: Info[Context, None]) -> list[Artifact]:
        rows = await info.context.loaders.step_artifacts.load(self.row.id)
        return [Artifact.from_row(row) for row in rows]

    @field(description="The step this one ran inside, if any.")
    async def parent(self, info: Info[Context, None]) -> "Step | None":
        if self.row.parent_id is None:
            return None
        row = await info.context.loaders.steps_by_id.load(self.row.parent_id)
        return Step.from_row(row) if row is not None else None

    @field(description="The run this step belongs to.")
    async def run(
        self, info: Info[Context, None]
    ) -> Annotated["Run", strawberry.lazy("tracewire.schema.types.run")]:
        from tracewire.schema.types.run import Run

        row = await info.context.loaders.runs_by_id.load(self.row.run_id)
        assert row is not None  # same org as the step, and runs are not deleted before steps
        return Run.from_row(row)
