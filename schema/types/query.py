"""The root query type: thin fields over `resolvers/`, grouped by domain."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from tracewire.resolvers.context import Context
from tracewire.resolvers.filters import RunFilterSpec
from tracewire.resolvers.ingestion import MAX_RECORDERS, list_recorder_health
from tracewire.resolvers.otel_lookup import run_by_trace_id, step_by_span_id
from tracewire.resolvers.qa import MAX_SAMPLES_PER_PAGE, list_samples
from tracewire.resolvers.runs import MAX_RUNS_PER_PAGE, get_run, list_runs
from tracewire.resolvers.steps import get_step
from tracewire.schema.types._field import field
from tracewire.schema.types.enums import QaResult
from tracewire.schema.types.filters import RunFilter, StatsFilter
from tracewire.schema.types.ingestion_health import RecorderHealth
from tracewire.schema.types.pagination import Connection
from tracewire.schema.types.qa_sample import QaSample
from tracewire.schema.types.run import Run
from tracewire.schema.types.stats import Stats
from tracewire.schema.types.step import Step

AFTER = "`pageInfo.endCursor` of the previous page."
TRACE_ID = "An OpenTelemetry trace id: 32 hex digits, as OTLP/JSON and `traceparent` show it."
SPAN_ID = "An OpenTelemetry span id of that trace: 16 hex digits."


@strawberry.type(description="Reads, always within the caller's organization.")
class Query:
    @field(
        description=f"Runs of the caller's organization, newest first (at most "
        f"{MAX_RUNS_PER_PAGE} per page)."
    )
    async def runs(
        self,
        info: Info[Context, None],
        filter: Annotated[
            RunFilter | None, strawberry.argument(description="Which runs; all if left out.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Run]:
        spec = filter.to_spec() if filter is not None else RunFilterSpec()
        page = await list_runs(info.context, first=first, after=after, spec=spec)
        return Connection.from_page(page, Run.from_row)

    @field(description="A run of the caller's organization, or null.")
    async def run(self, info: Info[Context, None], id: strawberry.ID) -> Run | None:
        row = await get_run(info.context, id)
        return Run.from_row(row) if row is not None else None

    @field(description="A step of the caller's organization, or null.")
    async def step(self, info: Info[Context, None], id: strawberry.ID) -> Step | None:
        row = await get_step(info.context, id)
        return Step.from_row(row) if row is not None else None

    @field(
        description="The run an OpenTelemetry trace sent over OTLP was recorded as, or null. "
        "An id that is not 32 hex digits is an error."
    )
    async def run_by_trace_id(
        self,
        info: Info[Context, None],
        trace_id: Annotated[str, strawberry.argument(description=TRACE_ID)],
    ) -> Run | None:
        row = await run_by_trace_id(info.context, trace_id)
        return Run.from_row(row) if row is not None else None

    @field(
        description="The step an OpenTelemetry span sent over OTLP was recorded as, or null. "
        "Span ids are unique only within their trace, hence both ids."
    )
    async def step_by_span_id(
        self,
        info: Info[Context, None],
        trace_id: Annotated[str, strawberry.argument(description=TRACE_ID)],
        span_id: Annotated[str, strawberry.argument(description=SPAN_ID)],
    ) -> Step | None:
        row = await step_by_span_id(info.context, trace_id, span_id)
        return Step.from_row(row) if row is not None else None

    @field(
        description=f"Ingestion health of the organization's recording processes, most recent "
        f"report first (at most {MAX_RECORDERS})."
    )
    async def ingestion_health(self, info: Info[Context, None]) -> list[RecorderHealth]:
        return [RecorderHealth.from_row(row) for row in await list_recorder_health(info.context)]

    @field(description="Dashboard figures; the last 24 hours unless the filter says otherwise.")
    def stats(
        self,
        filter: Annotated[
            StatsFilter | None, strawberry.argument(description="What the figures cover.")
        ] = None,
    ) -> Stats:
        return Stats.of((filter or StatsFilter()).to_spec())

    @field(description=f"QA samples, newest first (at most {MAX_SAMPLES_PER_PAGE} per page).")
    async def qa_samples(
        self,
        info: Info[Context, None],
        bucket: Annotated[str | None, strawberry.argument(description="Only this bucket.")] = None,
        result: Annotated[
            QaResult | None, strawberry.argument(description="Only this verdict.")
        ] = None,
        run_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this run's samples.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size.")] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[QaSample]:
        page = await list_samples(
            info.context, bucket=bucket, result=result, run_id=run_id, first=first, after=after
        )
        return Connection.from_page(page, QaSample.from_row)
