"""Converted traces into the recorder: one `Recorder` per organization, so spans go through
the same batch writer as agents' own recording (streamed live, counted in stats).

A trace is a run whose id derives from the organization and the trace id, so a trace sent
in several requests lands in one run, and one organization can never name another's run.
"""

import asyncio
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.otlp._convert import SpanRecord, TraceBatch
from db.enums import RunStatus
from db.models import Organization
from recorder import Recorder, RecorderSettings, RunHandle

_RUN_NAMESPACE = uuid.UUID("5b0f6f0e-7a8e-4c1b-9a57-3c1f3e0a7e11")
_MAX_REMEMBERED_SPANS = 200_000


class OtlpIngest:
    """Holds the per-organization recorders of one server process; `close()` drains them."""

    def __init__(self, database_url: str, *, spool_dir: Path | None = None) -> None:
        self._database_url = database_url
        # Spans the database could not take yet are spooled and replayed like an agent's.
        self._settings = RecorderSettings(spool_dir=spool_dir)
        self._recorders: dict[uuid.UUID, Recorder] = {}
        self._slugs: dict[uuid.UUID, str] = {}
        self._lock = asyncio.Lock()
        # span -> step ids, so that a child arriving in a later request finds its parent
        # (the recorder makes step ids itself; see the report on issue 8).
        self._steps: OrderedDict[tuple[uuid.UUID, bytes], uuid.UUID] = OrderedDict()

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
                    )
                else:
                    run.finish(RunStatus.COMPLETED, output=root.fields.output)
        return count

    async def close(self) -> None:
        recorders, self._recorders = list(self._recorders.values()), {}
        await asyncio.gather(*(asyncio.to_thread(r.close) for r in recorders))

    def _open_run(self, recorder: Recorder, org_id: uuid.UUID, trace: TraceBatch) -> RunHandle:
        root = trace.root
        spans = trace.spans
        fields = [s.fields for s in spans]
        agent = (
            next((f.trace_name for f in fields if f.trace_name), None)
            or (root.name if root is not None else None)
            or trace.resource.get("service.name")
            or "otlp"
        )
        metadata: dict[str, Any] = {"otel": {"trace_id": trace.trace_id.hex()}}
        metadata["otel"]["resource"] = trace.resource
        for f in fields:
            metadata.update(f.trace_metadata)
        # Re-opening an existing run id is ignored by the writer: the first request of a
        # trace decides the run's fields.
        return recorder.run(
            str(agent),
            input=root.fields.input if root is not None else None,
            user_id=next((f.user_id for f in fields if f.user_id), None),
            conversation_id=next((f.session_id for f in fields if f.session_id), None),
            metadata=metadata,
            tags=next((f.tags for f in fields if f.tags), None),
            run_id=run_id_for(org_id, trace.trace_id),
        )

    def _record_span(self, run: RunHandle, span: SpanRecord) -> None:
        f = span.fields
        parent = None
        if span.parent_span_id is not None:
            parent = self._steps.get((run.id, span.parent_span_id))
        step = run.step(
            span.name or "span",
            type=f.type,
            input=f.input,
            parent=parent,
            model=f.model,
            vendor=f.vendor,
            payload=span.payload,
        )
        self._remember(run.id, span.span_id, step.id)
        step.input_tokens, step.output_tokens, step.cost = f.input_tokens, f.output_tokens, f.cost
        if span.error is None:
            step.end(f.output)
        else:
            # The stack trace stays in the payload, with the span's `exception` event: the
            # recorder takes tracebacks only from live exceptions.
            step.output = f.output
            step.fail(span.error.message, code=span.error.code)

    def _remember(self, run_id: uuid.UUID, span_id: bytes, step_id: uuid.UUID) -> None:
        self._steps[(run_id, span_id)] = step_id
        if len(self._steps) > _MAX_REMEMBERED_SPANS:
            self._steps.popitem(last=False)


def run_id_for(org_id: uuid.UUID, trace_id: bytes) -> uuid.UUID:
    return uuid.uuid5(_RUN_NAMESPACE, f"{org_id}:{trace_id.hex()}")
