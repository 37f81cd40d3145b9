"""Span attributes into Tracewire's step and run fields.

Conventions, strongest first: Langfuse's own (`langfuse.*`), OpenTelemetry GenAI
(`gen_ai.*`), OpenInference (`openinference.span.kind`, `llm.*`, `input.value`...), then
generic ones (`user.id`, `session.id`). One exception: an LLM span's OpenInference messages
(`llm.input_messages.*`) win over its `input.value`, which instrumentations fill with the
raw request body, the way Phoenix shows them. The raw attributes are kept in the payload.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracewire.api.otlp._details import span_details
from tracewire.api.otlp._messages import openinference_messages
from tracewire.api.otlp._usage import fill_usage
from tracewire.api.otlp._values import first, indexed_lists, json_or_text, prefixed, string_list
from tracewire.db.enums import StepType
from tracewire.db.step_payload import SpanDetails

_LANGFUSE_TYPES = {
    "generation": StepType.LLM_CALL,
    "embedding": StepType.LLM_CALL,
    "tool": StepType.TOOL_CALL,
    "retriever": StepType.TOOL_CALL,
    "event": StepType.INFO,
    "evaluator": StepType.VALIDATION,
    "guardrail": StepType.VALIDATION,
}
_GENAI_TYPES = {
    "chat": StepType.LLM_CALL,
    "text_completion": StepType.LLM_CALL,
    "generate_content": StepType.LLM_CALL,
    "embeddings": StepType.LLM_CALL,
    "execute_tool": StepType.TOOL_CALL,
}
_OPENINFERENCE_TYPES = {
    "LLM": StepType.LLM_CALL,
    "EMBEDDING": StepType.LLM_CALL,
    "TOOL": StepType.TOOL_CALL,
    "RETRIEVER": StepType.TOOL_CALL,
    "GUARDRAIL": StepType.VALIDATION,
    "EVALUATOR": StepType.VALIDATION,
}
_LIST_ROOTS = ("llm.", "retrieval.", "reranker.")


@dataclass(slots=True)
class SpanFields:
    type: StepType = StepType.NODE
    model: str | None = None
    vendor: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    # Parts of input_tokens: prompt tokens read from / written to the vendor's prompt cache.
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost: float | None = None
    input: Any = None
    output: Any = None
    level_error: str | None = None
    # Run-level fields the span carries (Langfuse puts them on every span of a trace).
    trace_name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    trace_metadata: dict[str, Any] = field(default_factory=dict)
    # Typed keys for the step payload: documents, system instructions, parameters...
    details: SpanDetails = field(default_factory=SpanDetails)


def map_span(attrs: Mapping[str, Any]) -> SpanFields:
    fields = SpanFields(type=_step_type(attrs))
    fields.model = _text(
        first(
            attrs,
            "langfuse.observation.model.name",
            "gen_ai.response.model",
            "gen_ai.request.model",
            "llm.model_name",
        )
    )
    fields.vendor = _text(
        first(attrs, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
    )
    fill_usage(attrs, fields)
    # OpenInference's flattened lists, found in one pass over the keys they can live under.
    lists = indexed_lists({k: v for k, v in attrs.items() if k.startswith(_LIST_ROOTS)})
    prompt = openinference_messages(lists, "input")
    fields.input = _value(attrs, fields.type, "input", prompt)
    fields.output = _value(attrs, fields.type, "output", openinference_messages(lists, "output"))
    if attrs.get("langfuse.observation.level") == "ERROR":
        message = attrs.get("langfuse.observation.status_message")
        fields.level_error = str(message or "observation level ERROR")
    fields.trace_name = _text(attrs.get("langfuse.trace.name"))
    fields.user_id = _text(first(attrs, "user.id", "langfuse.user.id", "enduser.id"))
    fields.session_id = _text(
        first(attrs, "session.id", "langfuse.session.id", "gen_ai.conversation.id")
    )
    fields.tags = string_list(first(attrs, "langfuse.trace.tags", "tag.tags"))
    fields.metadata = prefixed(attrs, "langfuse.observation.metadata") or prefixed(
        attrs, "metadata"
    )
    fields.trace_metadata = prefixed(attrs, "langfuse.trace.metadata")
    fields.details = span_details(attrs, lists, fields, prompt)
    return fields


def _value(attrs: Mapping[str, Any], type: StepType, side: str, messages: Any) -> Any:
    """The step's input or output (`side`); `messages` are the span's OpenInference ones."""
    explicit = json_or_text(first(attrs, f"langfuse.observation.{side}", f"gen_ai.{side}.messages"))
    if explicit is not None:
        return explicit
    if messages is not None and type is StepType.LLM_CALL:
        return messages
    plain = json_or_text(first(attrs, f"{side}.value"))
    return plain if plain is not None else messages


def _step_type(attrs: Mapping[str, Any]) -> StepType:
    for key, table in (
        ("langfuse.observation.type", _LANGFUSE_TYPES),
        ("gen_ai.operation.name", _GENAI_TYPES),
        ("openinference.span.kind", _OPENINFERENCE_TYPES),
    ):
        kind = attrs.get(key)
        if isinstance(kind, str) and kind:
            return table.get(
                kind if key == "openinference.span.kind" else kind.lower(), StepType.NODE
            )
    if "gen_ai.tool.name" in attrs or "tool.name" in attrs:
        return StepType.TOOL_CALL
    return StepType.NODE


def _text(raw: Any) -> str | None:
    return None if raw is None else str(raw)
