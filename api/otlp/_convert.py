"""An `ExportTraceServiceRequest` into traces of spans ready to record: attributes mapped,
spans ordered parents first, invalid spans counted as rejected."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracewire.api.otlp._mapping import SpanFields, map_span
from tracewire.api.otlp._values import attributes, first, json_text

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_INVALID_TRACE = bytes(16)
_INVALID_SPAN = bytes(8)
_PROJECT = "openinference.project.name"
_NO_TIME = (None, None)
_ERROR = Status.STATUS_CODE_ERROR
# No events, no links: the payload is JSON text as soon as it is made, so a tuple will do
# (no list to allocate per span).
_NONE: tuple[()] = ()


@dataclass(slots=True)
class SpanError:
    code: str
    message: str
    stacktrace: str | None = None


@dataclass(slots=True)
class SpanRecord:
    span_id: bytes
    parent_span_id: bytes | None
    name: str
    fields: SpanFields
    error: SpanError | None
    # The step payload (`db.step_payload.StepPayload`), as JSON text: its dicts, kept per
    # span until the batch is written, would be most of what the garbage collector tracks.
    payload: str | None
    # Epoch seconds, to the microsecond; None when the exporter left the time out (0): the
    # step then takes the receive time.
    started_at: float | None = None
    ended_at: float | None = None


@dataclass(slots=True)
class TraceBatch:
    """The spans of one trace that arrived in one request, parents before children."""

    trace_id: bytes
    resource: dict[str, Any]
    spans: list[SpanRecord] = field(default_factory=list)
    # The project (agent) the sender routed the trace to, if it named one; see `convert`.
    project: str | None = None

    @property
    def root(self) -> SpanRecord | None:
        return next((s for s in self.spans if s.parent_span_id is None), None)


@dataclass(slots=True)
class Converted:
    traces: list[TraceBatch]
    rejected: int
    message: str


def convert(request: ExportTraceServiceRequest, project: str | None = None) -> Converted:
    """`project` is the one the request named (its `x-project-name` header); a resource's
    `openinference.project.name` attribute (how Phoenix routes traces to a project) wins
    over it for that resource's spans, being set by the code that made them."""
    traces: list[TraceBatch] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        routed = _project(resource.get(_PROJECT)) or _project(project)
        # The resource's traces, with their ids in hex.
        found: dict[bytes, tuple[TraceBatch, str]] = {}
        for scope_spans in resource_spans.scope_spans:
            # One dict per scope, shared by its spans' payloads.
            scope = {
                "name": scope_spans.scope.name,
                "version": scope_spans.scope.version,
                "attributes": attributes(scope_spans.scope.attributes),
            }
            for span in scope_spans.spans:
                trace_id, span_id = span.trace_id, span.span_id
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or trace_id == _INVALID_TRACE
                    or span_id == _INVALID_SPAN
                ):
                    rejected += 1
                    continue
                known = found.get(trace_id)
                if known is None:
                    known = found[trace_id] = (
                        TraceBatch(trace_id, resource, project=routed),
                        trace_id.hex(),
                    )
                    traces.append(known[0])
                batch, trace_hex = known
                batch.spans.append(_record(span, trace_hex, span_id, scope))
    for batch in traces:
        batch.spans = _parents_first(batch.spans)
    message = f"{rejected} spans with an invalid trace or span id" if rejected else ""
    return Converted(traces, rejected, message)


def _project(name: Any) -> str | None:
    return name.strip() or None if isinstance(name, str) else None


def _record(span: Span, trace_hex: str, span_id: bytes, scope: dict[str, Any]) -> SpanRecord:
    # Each field of a protobuf message is read once: every read builds a Python object.
    attrs = attributes(span.attributes)
    fields = map_span(attrs)
    events = [_event(e) for e in span.events] if span.events else _NONE
    start_ns, end_ns = span.start_time_unix_nano, span.end_time_unix_nano
    started_at, start_time = _clock(start_ns)
    ended_at, end_time = _clock(end_ns)
    parent_id, status = span.parent_span_id, span.status
    status_code, status_message = status.code, status.message
    payload: dict[str, Any] = {
        "otel": {
            "trace_id": trace_hex,
            "span_id": span_id.hex(),
            "parent_span_id": parent_id.hex() or None,
            "kind": _KINDS.get(span.kind) or str(span.kind),
            "start_time": start_time,
            "end_time": end_time,
            "duration_ms": (end_ns - start_ns if end_ns > start_ns else 0) / 1e6,
            "status": {"code": status_code, "message": status_message},
            "scope": scope,
            "attributes": attrs,
            "events": events,
            "links": [
                {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                for link in span.links
            ]
            if span.links
            else _NONE,
        }
    }
    if fields.metadata:
        payload["metadata"] = fields.metadata
    if fields.details:
        payload.update(fields.details)
    failed = status_code == _ERROR or fields.level_error is not None
    error = _error(status_message, fields, events) if failed else None
    if started_at is not None and ended_at is not None and ended_at < started_at:
        ended_at = started_at  # a clock step inside the span; a negative latency helps no one
    return SpanRecord(
        span_id,
        parent_id if len(parent_id) == 8 else None,
        span.name,
        fields,
        error,
        json_text(payload),
        started_at,
        ended_at,
    )


def _event(event: Span.Event) -> dict[str, Any]:
    return {
        "name": event.name,
        "time": _clock(event.time_unix_nano)[1],
        "attributes": attributes(event.attributes),
    }


def _error(status_message: str, fields: SpanFields, events: Sequence[dict[str, Any]]) -> SpanError:
    """The error of a span that failed (its status, or its Langfuse level)."""
    exception = next((e["attributes"] for e in events if e["name"] == "exception"), None)
    message = status_message or fields.level_error or "span status ERROR"
    if exception is None:
        return SpanError("error", message)
    return SpanError(
        str(first(exception, "exception.type") or "error"),
        str(first(exception, "exception.message") or message),
        first(exception, "exception.stacktrace"),
    )


def _parents_first(spans: list[SpanRecord]) -> list[SpanRecord]:
    by_id = {s.span_id: s for s in spans}
    ordered: list[SpanRecord] = []
    placed: set[bytes] = set()
    for span in spans:
        if span.span_id in placed:
            continue
        parent = span.parent_span_id
        if parent is None or parent in placed or parent not in by_id:
            ordered.append(span)  # most spans: nothing of theirs to place before them
            placed.add(span.span_id)
            continue
        chain: list[SpanRecord] = []
        current: SpanRecord | None = span
        while current is not None and current.span_id not in placed:
            chain.append(current)
            placed.add(current.span_id)
            parent = current.parent_span_id
            current = by_id.get(parent) if parent is not None else None
        ordered.extend(reversed(chain))
    return ordered


def _clock(nanos: int) -> tuple[float, str] | tuple[None, None]:
    """A span's time as epoch seconds and as ISO 8601 text, or Nones when it has none (0).

    Both are what `datetime.fromtimestamp(nanos / 1e9, UTC)` gives, its `timestamp()` and
    `isoformat()` (rounded half to even to the microsecond), without making a datetime
    per time: only one per second of span times."""
    if not nanos:
        return _NO_TIME
    at = nanos / 1e9
    seconds = int(at)
    micros = round((at - seconds) * 1e6)  # `at - seconds` is exact, as C's modf
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    second = _iso_second(seconds)
    if second is None:
        return _NO_TIME
    iso = f"{second}.{micros:06}+00:00" if micros else f"{second}+00:00"
    return (seconds * 1_000_000 + micros) / 1_000_000, iso


@lru_cache(maxsize=1024)
def _iso_second(seconds: int) -> str | None:
    """`seconds` since the epoch as ISO 8601 without its offset; None past year 9999."""
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()[: -len("+00:00")]
    except (OverflowError, OSError, ValueError):
        return None  # the exporter's clock, not a time
