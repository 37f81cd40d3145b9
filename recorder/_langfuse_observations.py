"""Committed wire records (see `_records`) into Langfuse observations, through the `langfuse`
SDK's observation classes on an OpenTelemetry tracer of our own.

A run is a Langfuse trace whose id is the run id (both are 32 hex digits), with one root
observation (type `agent`) carrying the run's name, user, session, tags, input and output;
a step is an observation under its parent step, or under the root. Span ids derive from
step ids, so a step's parent is found without remembering it: across batches, and across
processes recording into one run. Observations carry the recorded times, not the time the
mirror got to them. Imported only when the mirror is configured (it loads the SDK).
"""

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import orjson
from langfuse import (
    Langfuse,
    LangfuseAgent,
    LangfuseEvent,
    LangfuseGeneration,
    LangfuseGuardrail,
    LangfuseOtelSpanAttributes,
    LangfuseSpan,
    LangfuseTool,
)
from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import Tracer
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.recorder._records import (
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    RunClosed,
    RunOpened,
    RunUpdated,
    StepEnded,
    StepStarted,
    WireRecord,
)

Observation = (
    LangfuseAgent
    | LangfuseEvent
    | LangfuseGeneration
    | LangfuseGuardrail
    | LangfuseSpan
    | LangfuseTool
)
_CLASSES: dict[str, type[Observation]] = {
    StepType.LLM_CALL: LangfuseGeneration,
    StepType.TOOL_CALL: LangfuseTool,
    StepType.NODE: LangfuseSpan,
    StepType.VALIDATION: LangfuseGuardrail,
}
_FAILED = frozenset({StepStatus.FAILED.value, RunStatus.FAILED.value})
# Open observations kept waiting for their end; past this the oldest are forgotten (a step
# that never ends must not grow the mirror without bound).
MAX_OPEN = 50_000


def span_id_of(hex_id: str) -> int:
    """The 64-bit span id of a step (or, with a "run:" prefix, of a run's root)."""
    return int.from_bytes(hashlib.blake2b(hex_id.encode(), digest_size=8).digest()) or 1


class GivenIds(IdGenerator):
    """Hands out the ids the mirror picked for the span it is starting (on its own thread);
    random ones to anything else."""

    def __init__(self) -> None:
        self._next = threading.local()
        self._random = RandomIdGenerator()

    def set_next(self, trace_id: int, span_id: int) -> None:
        self._next.trace_id, self._next.span_id = trace_id, span_id

    def clear(self) -> None:
        self._next.trace_id = self._next.span_id = None

    def generate_span_id(self) -> int:
        span_id: int | None = getattr(self._next, "span_id", None)
        return span_id if span_id is not None else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        trace_id: int | None = getattr(self._next, "trace_id", None)
        return trace_id if trace_id is not None else self._random.generate_trace_id()


class Observations:
    """Turns records into observations, one record at a time, on the mirror's thread.

    An observation is made whole when its step (or run) ends: the SDK exports a span only
    once it ended anyway, and some observation types (events) take no changes after they
    are made. Until then the start is kept, bounded."""

    def __init__(self, client: Langfuse, tracer: Tracer, ids: GivenIds) -> None:
        self._client = client
        self._tracer = tracer
        self._ids = ids
        self._steps: OrderedDict[str, StepStarted] = OrderedDict()
        self._runs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def apply(self, record: WireRecord) -> None:
        if record.kind == STEP_STARTED:
            _remember(self._steps, record.step_id, record)
        elif record.kind == STEP_ENDED:
            self._end_step(record)
        elif record.kind == RUN_OPENED:
            self._open_run(record)
        elif record.kind == RUN_CLOSED:
            self._close_run(record)
        elif record.kind == RUN_UPDATED:
            self._update_run(record)
        # Vendor usage and anything newer has no Langfuse counterpart here.

    def _start(
        self, run: str, own: int, parent: int | None, name: str, at: float
    ) -> otel_trace.Span:
        trace_id = int(run, 16)
        ctx = otel_context.Context()
        if parent is not None:
            parent_ctx = otel_trace.SpanContext(
                trace_id, parent, is_remote=True, trace_flags=otel_trace.TraceFlags(1)
            )
            ctx = otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(parent_ctx), ctx)
        self._ids.set_next(trace_id, own)
        try:
            return self._tracer.start_span(name, context=ctx, start_time=_nanos(at))
        finally:
            self._ids.clear()

    def _open_run(self, record: RunOpened) -> None:
        fields = {
            "agent": record.agent,
            "user_id": record.user_id,
            "conversation_id": record.conversation_id,
            "tags": record.tags,
            "input": record.input,
            "metadata": record.metadata,
            "started_at": record.started_at,
        }
        _remember(self._runs, record.run_id, fields)

    def _update_run(self, record: RunUpdated) -> None:
        fields = self._runs.get(record.run_id)
        if fields is None:
            return
        for name, value in record.changes.items():
            if name == "metadata" and fields["metadata"] is not None and value is not None:
                value = orjson.dumps({**orjson.loads(fields["metadata"]), **orjson.loads(value)})
            fields[name] = value

    def _close_run(self, record: RunClosed) -> None:
        run = record.run_id
        fields = self._runs.pop(run, None)
        if fields is None:
            return  # opened elsewhere: that process mirrors the run itself
        span = self._start(
            run, span_id_of(f"run:{run}"), None, fields["agent"], fields["started_at"]
        )
        attributes: dict[str, Any] = {LangfuseOtelSpanAttributes.TRACE_NAME: fields["agent"]}
        if fields["user_id"] is not None:
            attributes[LangfuseOtelSpanAttributes.TRACE_USER_ID] = fields["user_id"]
        if fields["conversation_id"] is not None:
            attributes[LangfuseOtelSpanAttributes.TRACE_SESSION_ID] = fields["conversation_id"]
        if fields["tags"]:
            attributes[LangfuseOtelSpanAttributes.TRACE_TAGS] = list(fields["tags"])
        span.set_attributes(attributes)
        failed = record.status in _FAILED
        LangfuseAgent(
            otel_span=span,
            langfuse_client=self._client,
            input=_value(fields["input"]),
            output=_value(record.output),
            metadata={"tracewire_run_id": run, **(_value(fields["metadata"]) or {})},
            level="ERROR" if failed else None,
            status_message=(record.error_message or record.error_code) if failed else None,
        ).end(end_time=_nanos(record.finished_at))

    def _end_step(self, end: StepEnded) -> None:
        start = self._steps.pop(end.step_id, None)
        if start is None:
            return  # started before this mirror (another process, or dropped): no start
        run, parent = start.run_id, start.parent_id
        parent_id = span_id_of(parent) if parent is not None else span_id_of(f"run:{run}")
        span = self._start(run, span_id_of(end.step_id), parent_id, start.name, start.started_at)
        metadata: dict[str, Any] = {"tracewire_step_id": end.step_id, "type": start.type}
        extra = {
            "payload": _merged(_value(start.payload), _value(end.payload)),
            "error_code": end.error_code,
            "traceback": end.error_traceback,
        }
        metadata.update({k: v for k, v in extra.items() if v is not None})
        failed = end.status in _FAILED
        fields: dict[str, Any] = {
            "input": _value(start.input),
            "output": _value(end.output),
            "metadata": metadata,
            "level": "ERROR" if failed else None,
            "status_message": (end.error_message or end.error_code) if failed else None,
        }
        cls = _CLASSES.get(start.type, LangfuseEvent)
        if cls is LangfuseGeneration:
            usage = {"input": end.input_tokens, "output": end.output_tokens}
            fields["usage_details"] = {k: v for k, v in usage.items() if v is not None} or None
            fields["cost_details"] = None if end.cost is None else {"total": end.cost}
            fields["model"] = end.model or start.model
        cls(otel_span=span, langfuse_client=self._client, **fields).end(
            end_time=_nanos(end.ended_at)
        )


def _remember(table: "OrderedDict[str, Any]", key: str, value: Any) -> None:
    table[key] = value
    if len(table) > MAX_OPEN:
        table.popitem(last=False)


def _merged(first: Any, second: Any) -> Any:
    if isinstance(first, dict) and isinstance(second, dict):
        return {**first, **second}
    return second if second is not None else first


def _value(raw: str | bytes | None) -> Any:
    """Wire JSON back into the value Langfuse serialises itself."""
    return None if raw is None else orjson.loads(raw)


def _nanos(epoch_seconds: float) -> int:
    return round(epoch_seconds * 1e9)
