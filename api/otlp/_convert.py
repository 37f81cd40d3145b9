"""An `ExportTraceServiceRequest` into traces of spans ready to record: attributes mapped,
spans ordered parents first, invalid spans counted as rejected."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracewire.api.otlp._mapping import SpanFields, map_span
from tracewire.api.otlp._values import attributes, first

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_INVALID_TRACE = bytes(16)
_INVALID_SPAN = bytes(8)
_PROJECT = "openinference.project.name"


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
    payload: dict[str, Any]
    # None when the exporter left the time out (0): the step then takes the receive time.
    started_at: datetime | None = None
    ended_at: datetime | None = None


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
    traces: dict[tuple[bytes, int], TraceBatch] = {}
    rejected = 0
    for resource_index, resource_spans in enumerate(request.resource_spans):
        resource = attributes(resource_spans.resource.attributes)
        routed = _project(resource.get(_PROJECT)) or _project(project)
        for scope_spans in resource_spans.scope_spans:
            scope = {
                "name": scope_spans.scope.name,
                "version": scope_spans.scope.version,
                "attributes": attributes(scope_spans.scope.attributes),
            }
            for span in scope_spans.spans:
                if not _valid(span):
                    rejected += 1
                    continue
                key = (span.trace_id, resource_index)
                batch = traces.get(key)
                if batch is None:
                    batch = traces[key] = TraceBatch(span.trace_id, resource, project=routed)
                batch.spans.append(_record(span, scope))
    for batch in traces.values():
        batch.spans = _parents_first(batch.spans)
    message = f"{rejected} spans with an invalid trace or span id" if rejected else ""
    return Converted(list(traces.values()), rejected, message)


def _project(name: Any) -> str | None:
    return name.strip() or None if isinstance(name, str) else None


def _valid(span: Span) -> bool:
    return (
        len(span.trace_id) == 16
        and span.trace_id != _INVALID_TRACE
        and len(span.span_id) == 8
        and span.span_id != _INVALID_SPAN
    )


def _record(span: Span, scope: dict[str, Any]) -> SpanRecord:
    attrs = attributes(span.attributes)
    fields = map_span(attrs)
    events = [
        {"name": e.name, "time": _iso(e.time_unix_nano), "attributes": attributes(e.attributes)}
        for e in span.events
    ]
    payload: dict[str, Any] = {
        "otel": {
            "trace_id": span.trace_id.hex(),
            "span_id": span.span_id.hex(),
            "parent_span_id": span.parent_span_id.hex() or None,
            "kind": _KINDS.get(span.kind, str(span.kind)),
            "start_time": _iso(span.start_time_unix_nano),
            "end_time": _iso(span.end_time_unix_nano),
            "duration_ms": max(0, span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
            "status": {"code": span.status.code, "message": span.status.message},
            "scope": scope,
            "attributes": attrs,
            "events": events,
            "links": [
                {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                for link in span.links
            ],
        }
    }
    if fields.metadata:
        payload["metadata"] = fields.metadata
    payload.update(fields.details)
    parent = span.parent_span_id if len(span.parent_span_id) == 8 else None
    started, ended = _time(span.start_time_unix_nano), _time(span.end_time_unix_nano)
    if started is not None and ended is not None and ended < started:
        ended = started  # a clock step inside the span; a negative latency helps no one
    return SpanRecord(
        span.span_id,
        parent,
        span.name,
        fields,
        _error(span, fields, events),
        payload,
        started,
        ended,
    )


def _error(span: Span, fields: SpanFields, events: list[dict[str, Any]]) -> SpanError | None:
    exception = next((e["attributes"] for e in events if e["name"] == "exception"), None)
    failed = span.status.code == Status.STATUS_CODE_ERROR or fields.level_error is not None
    if not failed:
        return None
    message = span.status.message or fields.level_error or "span status ERROR"
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
        chain: list[SpanRecord] = []
        current: SpanRecord | None = span
        while current is not None and current.span_id not in placed:
            chain.append(current)
            placed.add(current.span_id)
            parent = current.parent_span_id
            current = by_id.get(parent) if parent is not None else None
        ordered.extend(reversed(chain))
    return ordered


def _time(nanos: int) -> datetime | None:
    if not nanos:
        return None
    try:
        return datetime.fromtimestamp(nanos / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        return None  # past year 9999: the exporter's clock, not a time


def _iso(nanos: int) -> str | None:
    at = _time(nanos)
    return None if at is None else at.isoformat()
