"""Converted traces into one batch of wire records, for the ingest service.

A trace is a run (`db.otel_ids.run_id_for`): the first request of a trace opens it with
what it has, and a later one that knows more (its root span, trace attributes) updates
it. A span is a step (`step_id_for`), recorded started and ended at the span's own times.
A trace's root span finishes its run; a trace whose root never arrives stays running until
the server's stall sweep marks it stalled, like a recorder that went silent.

A run's records (a few per trace) are built in the hot path's raw layout and prepared by
the recorder's own `prepare`. A span's two are built as wire records here, a span being
most of the work: with the coercions `prepare` applies to a step (JSON without NULs, text,
counts, costs), so values are stored exactly as an agent's are.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from tracewire.api.otlp._convert import SpanRecord, TraceBatch
from tracewire.api.otlp._values import json_text
from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.db.otel_ids import run_bytes, step_hex
from tracewire.recorder._ids import ids
from tracewire.recorder._prepare import _amount, _count, error_fields, prepare
from tracewire.recorder._records import (
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    Batch,
    ErrorInfo,
    StepEnded,
    StepStarted,
    WireRecord,
    named,
)
from tracewire.recorder._serialize import optional_text, text

_COMPLETED = StepStatus.COMPLETED.value
_FAILED = StepStatus.FAILED.value
_TYPES = {type: type.value for type in StepType}  # a dict lookup; `.value` is a property
# Times here are epoch seconds already; `prepare` adds its anchor to a float time.
_EPOCH_ANCHOR = 0.0
_NO_ERROR: tuple[str | None, str | None, str | None] = (None, None, None)  # error_fields(None)


def batch_of(org_id: uuid.UUID, traces: list[TraceBatch]) -> Batch:
    """The traces' runs and steps, as one batch (a new id: an exporter's retry of the same
    spans is recognised by their step ids instead)."""
    now = datetime.now(UTC).timestamp()
    org = str(org_id)
    records: list[WireRecord] = []
    for trace in traces:
        run = run_bytes(org, trace.trace_id)
        run_int = int.from_bytes(run)
        root = trace.root
        for raw in _run_records(run_int, trace, root, now):
            records.append(prepare(raw, _EPOCH_ANCHOR))
        _add_steps(records, run, trace.spans, now)
        if root is not None:
            status = RunStatus.FAILED if root.error is not None else RunStatus.COMPLETED
            error = root.error
            finished = root.ended_at if root.ended_at is not None else now
            records.append(
                prepare(  # a RawRunClosed
                    (RUN_CLOSED, run_int, status.value, root.fields.output,
                     error.code if error else None, error.message if error else None,
                     finished),
                    _EPOCH_ANCHOR,
                )
            )  # fmt: skip
    return Batch(f"{ids.new():032x}", records)


def _run_records(
    run_id: int, trace: TraceBatch, root: SpanRecord | None, now: float
) -> list[tuple[Any, ...]]:
    # What the spans say of their run: the first span that says it wins, metadata merges.
    trace_name = user_id = session_id = tags = first_start = None
    trace_metadata: dict[str, Any] = {}
    for span in trace.spans:
        f = span.fields
        trace_name = trace_name or f.trace_name
        user_id = user_id or f.user_id
        session_id = session_id or f.session_id
        tags = tags or f.tags
        if f.trace_metadata:
            trace_metadata.update(f.trace_metadata)
        start = span.started_at
        if start is not None and (first_start is None or start < first_start):
            first_start = start
    known: dict[str, Any] = {
        "agent": trace.project or trace_name or (root.name if root is not None else None),
        "user_id": user_id or None,
        "conversation_id": session_id or None,
        "tags": tags or None,
        "metadata": trace_metadata or None,
    }
    if root is not None:
        known |= {"input": root.fields.input, "started_at": root.started_at}
    metadata = {"otel": {"trace_id": trace.trace_id.hex(), "resource": trace.resource}}
    agent = known["agent"] or trace.resource.get("service.name") or "otlp"
    raws: list[tuple[Any, ...]] = [
        # a RawRunOpened; the organization is the API key's, whatever a record says
        (RUN_OPENED, run_id, "", str(agent), known["user_id"], known["conversation_id"],
         known.get("input"), {**metadata, **trace_metadata}, known["tags"],
         now if first_start is None else first_start),
    ]  # fmt: skip
    # Ignored by the store where the run is new (the open has it all); where it exists,
    # what this request knows updates it.
    changes = {k: v for k, v in known.items() if v is not None}
    if changes:
        raws.append((RUN_UPDATED, run_id, changes))  # a RawRunUpdated
    return raws


def _add_steps(
    records: list[WireRecord], namespace: bytes, spans: list[SpanRecord], now: float
) -> None:
    """A STEP_STARTED and a STEP_ENDED per span of the run `namespace` (its id's bytes),
    made as `prepare` makes them."""
    run = namespace.hex()
    # Step ids by span id: spans come parents first, so a child finds its parent's here.
    steps: dict[bytes, str] = {}
    append = records.append
    for span in spans:
        f = span.fields
        step = steps[span.span_id] = step_hex(namespace, span.span_id)
        parent, parent_span = None, span.parent_span_id
        if parent_span is not None:
            # A parent never sent (another service's span) leaves a dangling id: the step
            # tree shows such a step as a root.
            parent = steps.get(parent_span) or step_hex(namespace, parent_span)
        started = span.started_at if span.started_at is not None else now
        ended = span.ended_at if span.ended_at is not None else started
        status, error = _COMPLETED, _NO_ERROR
        if span.error is not None:
            status = _FAILED
            error = error_fields(
                ErrorInfo(span.error.message, span.error.code, span.error.stacktrace)
            )
        append(named(StepStarted, (
            STEP_STARTED, step, run, parent, text(span.name or "span"), _TYPES[f.type],
            json_text(f.input), span.payload, optional_text(f.model),
            optional_text(f.vendor), started,
        )))  # fmt: skip
        append(named(StepEnded, (
            STEP_ENDED, step, run, status, json_text(f.output), None, None, None,
            _count(f.input_tokens), _count(f.output_tokens), _amount(f.cost), *error, ended,
            (ended - started) * 1000,
        )))  # fmt: skip
