"""Converted traces into the recorder: one `Recorder` per organization, so spans go through
the same batch writer as agents' own recording (streamed live, counted in stats).

A trace is a run whose id derives from the organization and the trace id, so a trace sent
in several requests lands in one run, and one organization can never name another's run. A
span is a step whose id derives from the run and the span id, so a child that arrives
before or after its parent, in another request or at another server process, still names
it. Steps carry the spans' own start and end times, not the time they arrived.
"""

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracewire.api.otlp._convert import SpanRecord, TraceBatch
from tracewire.db.enums import RunStatus
from tracewire.db.models import Organization
from tracewire.recorder import ErrorInfo, Recorder, RecorderSettings, RunHandle
from tracewire.storage import S3Options, StoreConfig

_RUN_NAMESPACE = uuid.UUID("5b0f6f0e-7a8e-4c1b-9a57-3c1f3e0a7e11")


class OtlpIngest:
    """Holds the per-organization recorders of one server process; `close()` drains them."""

    def __init__(
        self,
        database_url: str,
        *,
        spool_dir: Path | None = None,
        store: StoreConfig | None = None,
        notify_url: str | None = None,
    ) -> None:
        self._database_url = database_url
        # Spans the database could not take yet are spooled and replayed like an agent's;
        # span values too large for a row go to the server's artifact store; live viewers
        # are woken the way the server's `notify_url` says.
        self._settings = RecorderSettings(
            spool_dir=spool_dir,
            artifact_store=store.url if store else None,
            s3=store.s3 if store else S3Options(),
            notify_url=notify_url,
        )
        self._recorders: dict[uuid.UUID, Recorder] = {}
        self._slugs: dict[uuid.UUID, str] = {}
        self._lock = asyncio.Lock()

    async def org_slug(self, sessions: async_sessionmaker[AsyncSession], org_id: uuid.UUID) -> str:
        slug = self._slugs.get(org_id)
        if slug is None:
            async with sessions() as session:
                slug = await session.scalar(
                    select(Organization.slug).where(Organization.id == org_id)
                )
            if slug is None:
                raise LookupError(f"no organization {org_id}")
            self._slugs[org_id] = slug
        return slug

    async def recorder_for(
        self, sessions: async_sessionmaker[AsyncSession], org_id: uuid.UUID
    ) -> Recorder:
        found = self._recorders.get(org_id)
        if found is not None:
            return found
        slug = await self.org_slug(sessions, org_id)
        async with self._lock:
            if org_id not in self._recorders:
                # In a thread: the recorder installs signal handlers only from the main
                # thread, and the server owns its signals.
                self._recorders[org_id] = await asyncio.to_thread(
                    Recorder, self._database_url, org=slug, settings=self._settings
                )
        return self._recorders[org_id]

    def record(self, recorder: Recorder, org_id: uuid.UUID, traces: list[TraceBatch]) -> int:
        """Queue the traces' runs and steps (no I/O); the number of spans recorded."""
        count = 0
        for trace in traces:
            run = self._open_run(recorder, org_id, trace)
            for span in trace.spans:
                self._record_span(run, span)
                count += 1
            root = trace.root
            if root is not None:
                if root.error is not None:
                    run.finish(
                        RunStatus.FAILED,
                        output=root.fields.output,
                        error_code=root.error.code,
                        error_message=root.error.message,
                        finished_at=root.ended_at,
                    )
                else:
                    run.finish(
                        RunStatus.COMPLETED, output=root.fields.output, finished_at=root.ended_at
                    )
        return count

    async def close(self) -> None:
        recorders, self._recorders = list(self._recorders.values()), {}
        await asyncio.gather(*(asyncio.to_thread(r.close) for r in recorders))

    def _open_run(self, recorder: Recorder, org_id: uuid.UUID, trace: TraceBatch) -> RunHandle:
        root = trace.root
        spans = trace.spans
        fields = [s.fields for s in spans]
        trace_metadata: dict[str, Any] = {}
        for f in fields:
            trace_metadata.update(f.trace_metadata)
        metadata = {"otel": {"trace_id": trace.trace_id.hex(), "resource": trace.resource}}
        starts = [s.started_at for s in spans if s.started_at is not None]
        known: dict[str, Any] = {
            "agent": next((f.trace_name for f in fields if f.trace_name), None)
            or (root.name if root is not None else None),
            "user_id": next((f.user_id for f in fields if f.user_id), None),
            "conversation_id": next((f.session_id for f in fields if f.session_id), None),
            "tags": next((f.tags for f in fields if f.tags), None),
            "metadata": trace_metadata or None,
        }
        if root is not None:
            known |= {"input": root.fields.input, "started_at": root.started_at}
        # Re-opening an existing run id is ignored by the writer: the first request of a
        # trace opens the run, with what it has ...
        agent = known["agent"] or trace.resource.get("service.name") or "otlp"
        run = recorder.run(
            str(agent),
            input=root.fields.input if root is not None else None,
            user_id=known["user_id"],
            conversation_id=known["conversation_id"],
            metadata={**metadata, **trace_metadata},
            tags=known["tags"],
            run_id=run_id_for(org_id, trace.trace_id),
            started_at=min(starts) if starts else None,
        )
        # ... and what a later one knows (its root span, trace attributes) updates it.
        run.update(**{k: v for k, v in known.items() if v is not None})
        return run

    def _record_span(self, run: RunHandle, span: SpanRecord) -> None:
        f = span.fields
        parent = None
        if span.parent_span_id is not None:
            # A parent never sent (another service's span) leaves a dangling id: the step
            # tree shows such a step as a root.
            parent = step_id_for(run.id, span.parent_span_id)
        step = run.step(
            span.name or "span",
            type=f.type,
            input=f.input,
            parent=parent,
            model=f.model,
            vendor=f.vendor,
            payload=span.payload,
            step_id=step_id_for(run.id, span.span_id),
            started_at=span.started_at,
        )
        error = None
        if span.error is not None:
            error = ErrorInfo(span.error.message, span.error.code, span.error.stacktrace)
        step.end(
            f.output,
            error=error,
            input_tokens=f.input_tokens,
            output_tokens=f.output_tokens,
            cost=f.cost,
            ended_at=span.ended_at,
        )


def run_id_for(org_id: uuid.UUID, trace_id: bytes) -> uuid.UUID:
    return uuid.uuid5(_RUN_NAMESPACE, f"{org_id}:{trace_id.hex()}")


def step_id_for(run_id: uuid.UUID, span_id: bytes) -> uuid.UUID:
    return uuid.uuid5(run_id, span_id.hex())
