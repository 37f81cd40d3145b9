"""Converted traces into one batch of wire records, for the ingest service.

A trace is a run (`db.otel_ids.run_id_for`): the first request of a trace opens it with
what it has, and a later one that knows more (its root span, trace attributes) updates
it. A span is a step (`step_id_for`), recorded started and ended at the span's own times.
A trace's root span finishes its run; a trace whose root never arrives stays running until
the server's stall sweep marks it stalled, like a recorder that went silent.

Records are built in the hot path's raw layout and prepared by the recorder's own
`prepare`, so values are coerced exactly as an agent's are (JSON, NULs, counts, costs).
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from tracewire.api.otlp._convert import SpanRecord, TraceBatch
from tracewire.db.enums import RunStatus, StepStatus
from tracewire.db.otel_ids import run_id_for, step_id_for
from tracewire.recorder._ids import ids
from tracewire.recorder._prepare import prepare, wall_clock_anchor
from tracewire.recorder._records import (
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    Batch,
    ErrorInfo,
    WireRecord,
)

_COMPLETED = StepStatus.COMPLETED.value
_FAILED = StepStatus.FAILED.value


def batch_of(org_id: uuid.UUID, traces: list[TraceBatch]) -> Batch:
    """The traces' runs and steps, as one batch (a new id: an exporter's retry of the same
    spans is recognised by their step ids instead)."""
    anchor = wall_clock_anchor()
    now = datetime.now(UTC)
    records: list[WireRecord] = []
    for trace in traces:
        run_id = run_id_for(org_id, trace.trace_id)
        for raw in _run_records(run_id, trace, now):
            records.append(prepare(raw, anchor))
        for span in trace.spans:
            for raw in _span_records(run_id, span, now):
                records.append(prepare(raw, anchor))
        root = trace.root
        if root is not None:
            status = RunStatus.FAILED if root.error is not None else RunStatus.COMPLETED
            error = root.error
            records.append(
                prepare(  # a RawRunClosed
                    (RUN_CLOSED, run_id.int, status.value, root.fields.output,
                     error.code if error else None, error.message if error else None,
                     root.ended_at or now),
                    anchor,
                )
            )  # fmt: skip
    return Batch(f"{ids.new():032x}", records)


def _run_records(run_id: uuid.UUID, trace: TraceBatch, now: datetime) -> list[tuple[Any, ...]]:
    root = trace.root
    fields = [s.fields for s in trace.spans]
    trace_metadata: dict[str, Any] = {}
    for f in fields:
        trace_metadata.update(f.trace_metadata)
    known: dict[str, Any] = {
        "agent": trace.project
        or next((f.trace_name for f in fields if f.trace_name), None)
        or (root.name if root is not None else None),
        "user_id": next((f.user_id for f in fields if f.user_id), None),
        "conversation_id": next((f.session_id for f in fields if f.session_id), None),
        "tags": next((f.tags for f in fields if f.tags), None),
        "metadata": trace_metadata or None,
    }
    if root is not None:
        known |= {"input": root.fields.input, "started_at": root.started_at}
    starts = [s.started_at for s in trace.spans if s.started_at is not None]
    metadata = {"otel": {"trace_id": trace.trace_id.hex(), "resource": trace.resource}}
    agent = known["agent"] or trace.resource.get("service.name") or "otlp"
    raws: list[tuple[Any, ...]] = [
        # a RawRunOpened; the organization is the API key's, whatever a record says
        (RUN_OPENED, run_id.int, "", str(agent), known["user_id"], known["conversation_id"],
         known.get("input"), {**metadata, **trace_metadata}, known["tags"],
         min(starts) if starts else now),
    ]  # fmt: skip
    # Ignored by the store where the run is new (the open has it all); where it exists,
    # what this request knows updates it.
    changes = {k: v for k, v in known.items() if v is not None}
    if changes:
        raws.append((RUN_UPDATED, run_id.int, changes))  # a RawRunUpdated
    return raws


def _span_records(run_id: uuid.UUID, span: SpanRecord, now: datetime) -> list[tuple[Any, ...]]:
    f = span.fields
    step = step_id_for(run_id, span.span_id).int
    parent = None
    if span.parent_span_id is not None:
        # A parent never sent (another service's span) leaves a dangling id: the step
        # tree shows such a step as a root.
        parent = step_id_for(run_id, span.parent_span_id)
    started = span.started_at or now
    ended = span.ended_at or started
    error = None
    if span.error is not None:
        error = ErrorInfo(span.error.message, span.error.code, span.error.stacktrace)
    return [
        # a RawStepStarted
        (STEP_STARTED, step, run_id.int, parent, span.name or "span", f.type.value, f.input,
         span.payload, f.model, f.vendor, started),
        # a RawStepEnded
        (STEP_ENDED, step, run_id.int, _FAILED if error else _COMPLETED, f.output, None, None,
         None, f.input_tokens, f.output_tokens, f.cost, error, ended, started),
    ]  # fmt: skip
