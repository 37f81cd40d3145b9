"""The keys of a step's JSONB `payload` that the server reads back as typed fields.

OTLP ingestion writes them (`tracewire.api.otlp`); the GraphQL `Step` type reads them
(`tracewire.resolvers.span_details`). Any other writer may use the same keys to get the same
fields. A payload is stored JSON, so readers still check every value's type.
"""

from typing import Any, TypedDict


class TokenUsage(TypedDict, total=False):
    """Prompt-cache counts. Both are parts of the step's `input_tokens`, not extra to it."""

    cache_read_input_tokens: int
    cache_creation_input_tokens: int


class RetrievedDocument(TypedDict):
    id: str | None
    score: float | None
    content: str | None
    metadata: Any


class SpanEvent(TypedDict):
    name: str
    time: str | None  # ISO 8601, None when the exporter sent no time
    attributes: dict[str, Any]


class OtelSpan(TypedDict):
    trace_id: str  # hex, 32 digits
    span_id: str  # hex, 16 digits
    parent_span_id: str | None
    kind: str
    start_time: str | None
    end_time: str | None
    duration_ms: float
    status: dict[str, Any]
    scope: dict[str, Any]
    attributes: dict[str, Any]
    events: list[SpanEvent]
    links: list[dict[str, str]]


class SpanDetails(TypedDict, total=False):
    """What an LLM, retriever or tool span carries besides input and output."""

    usage: TokenUsage
    documents: list[RetrievedDocument]
    system_instructions: str
    invocation_parameters: dict[str, Any]
    tool_definitions: list[Any]


class StepPayload(SpanDetails, total=False):
    otel: OtelSpan
    metadata: dict[str, Any]
