"""Typed reads of a step payload's span details (`tracewire.db.step_payload`). The payload is
stored JSON that any recorder may have written, so a value of the wrong type reads as
absent rather than failing the query."""

from datetime import datetime
from typing import Any

from tracewire.db.step_payload import RetrievedDocument, SpanEvent


def _get(payload: Any, key: str) -> Any:
    return payload.get(key) if isinstance(payload, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def cache_read_tokens(payload: Any) -> int | None:
    return _int(_get(_get(payload, "usage"), "cache_read_input_tokens"))


def cache_write_tokens(payload: Any) -> int | None:
    return _int(_get(_get(payload, "usage"), "cache_creation_input_tokens"))


def documents(payload: Any) -> list[RetrievedDocument]:
    found = _get(payload, "documents")
    if not isinstance(found, list):
        return []
    return [
        RetrievedDocument(
            id=_str(d.get("id")),
            score=float(score) if isinstance(score := d.get("score"), int | float) else None,
            content=_str(d.get("content")),
            metadata=d.get("metadata"),
        )
        for d in found
        if isinstance(d, dict)
    ]


def system_instructions(payload: Any) -> str | None:
    return _str(_get(payload, "system_instructions"))


def invocation_parameters(payload: Any) -> dict[str, Any] | None:
    found = _get(payload, "invocation_parameters")
    return found if isinstance(found, dict) else None


def tool_definitions(payload: Any) -> list[Any] | None:
    found = _get(payload, "tool_definitions")
    return found if isinstance(found, list) else None


def span_events(payload: Any) -> list[SpanEvent]:
    found = _get(_get(payload, "otel"), "events")
    if not isinstance(found, list):
        return []
    return [
        SpanEvent(
            name=_str(e.get("name")) or "",
            time=_str(e.get("time")),
            attributes=attributes if isinstance(attributes := e.get("attributes"), dict) else {},
        )
        for e in found
        if isinstance(e, dict)
    ]


def event_time(event: SpanEvent) -> datetime | None:
    text = event["time"]
    try:
        return datetime.fromisoformat(text) if text is not None else None
    except ValueError:
        return None


def otel_trace_id(payload: Any) -> str | None:
    return _str(_get(_get(payload, "otel"), "trace_id"))


def otel_span_id(payload: Any) -> str | None:
    return _str(_get(_get(payload, "otel"), "span_id"))
