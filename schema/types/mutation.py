"""The root mutation type: the run lifecycle (seed 000) and QA sampling (seed 004)."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from tracewire.resolvers import lifecycle, qa
from tracewire.resolvers.context import Context
from tracewire.resolvers.filters import RunFilterSpec, StepSelection
from tracewire.schema.types._field import field
from tracewire.schema.types.qa_inputs import DrawQaSamplesInput, RecordQaResultInput
from tracewire.schema.types.qa_sample import QaSample
from tracewire.schema.types.run import Run
from tracewire.schema.types.run_inputs import CreateRunInput, FinishRunInput

RunId = Annotated[strawberry.ID, strawberry.argument(description="The run.")]
Note = Annotated[str | None, strawberry.argument(description="Why; stored with the run's event.")]


@strawberry.type(
    description="Changes. Run lifecycle: create → PENDING; start: PENDING or NEEDS_REVIEW → "
    "RUNNING; finish: RUNNING or STALLED → COMPLETED, PARTIAL or FAILED; cancel: any unended "
    "status → CANCELLED; requestReview: RUNNING → NEEDS_REVIEW; approveReview: NEEDS_REVIEW → "
    "RUNNING; rejectReview: NEEDS_REVIEW → FAILED. Each change is logged as a run event."
)
class Mutation:
    @field(description="Create a PENDING run.")
    async def create_run(self, info: Info[Context, None], input: CreateRunInput) -> Run:
        row = await lifecycle.create_run(
            info.context,
            agent=input.agent,
            input=input.input,
            user_id=input.user_id,
            conversation_id=input.conversation_id,
            tags=input.tags or [],
            metadata=input.metadata,
        )
        return Run.from_row(row)

    @field(description="Start a PENDING run, or resume one that was waiting for review.")
    async def start_run(self, info: Info[Context, None], id: RunId) -> Run:
        return Run.from_row(await lifecycle.start_run(info.context, id))

    @field(description="End a RUNNING or STALLED run as COMPLETED, PARTIAL or FAILED.")
    async def finish_run(
        self, info: Info[Context, None], id: RunId, input: FinishRunInput | None = None
    ) -> Run:
        input = input or FinishRunInput()
        row = await lifecycle.finish_run(
            info.context,
            id,
            status=input.status,
            output=input.output,
            error_code=input.error_code,
            error_message=input.error_message,
        )
        return Run.from_row(row)

    @field(description="Cancel a run that has not ended.")
    async def cancel_run(self, info: Info[Context, None], id: RunId, note: Note = None) -> Run:
        return Run.from_row(await lifecycle.cancel_run(info.context, id, note))

    @field(description="Pause a RUNNING run for a human to review (NEEDS_REVIEW).")
    async def request_review(self, info: Info[Context, None], id: RunId, note: Note = None) -> Run:
        return Run.from_row(await lifecycle.request_review(info.context, id, note))

    @field(description="Approve a run in review: it goes on RUNNING.")
    async def approve_review(self, info: Info[Context, None], id: RunId, note: Note = None) -> Run:
        return Run.from_row(await lifecycle.approve_review(info.context, id, note))

    @field(description="Reject a run in review: it ends FAILED (error code review_rejected).")
    async def reject_review(self, info: Info[Context, None], id: RunId, note: Note = None) -> Run:
        return Run.from_row(await lifecycle.reject_review(info.context, id, note))

    @field(
        description="Draw random runs or steps into a QA bucket (each at most once per "
        "bucket); returns the new samples, fewer than `size` when fewer are left."
    )
    async def draw_qa_samples(
        self, info: Info[Context, None], input: DrawQaSamplesInput
    ) -> list[QaSample]:
        draw = qa.QaDraw(
            bucket=input.bucket,
            size=input.size,
            subject=input.subject,
            runs=input.runs.to_spec() if input.runs else RunFilterSpec(),
            steps=StepSelection.of(input.step_types, input.step_names),
            checklist=tuple(input.checklist) if input.checklist else qa.DEFAULT_CHECKLIST,
        )
        return [QaSample.from_row(row) for row in await qa.draw_samples(info.context, draw)]

    @field(description="Record a reviewer's verdict, ticks and notes on a QA sample.")
    async def record_qa_result(
        self, info: Info[Context, None], input: RecordQaResultInput
    ) -> QaSample:
        checks = [(c.name, c.passed) for c in input.checks] if input.checks is not None else None
        row = await qa.record_result(
            info.context, input.sample_id, result=input.result, checks=checks, notes=input.notes
        )
        return QaSample.from_row(row)
