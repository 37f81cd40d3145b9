"""Span attributes into Tracewire's step and run fields.

Conventions, strongest first: Langfuse's own (`langfuse.*`), OpenTelemetry GenAI
(`gen_ai.*`), OpenInference (`openinference.span.kind`, `llm.*`, `input.value`...), then
generic ones (`user.id`, `session.id`). One exception: an LLM span's OpenInference messages
(`llm.input_messages.*`) win over its `input.value`, which instrumentations fill with the
raw request body, the way Phoenix shows them. The raw attributes are kept in the payload.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracewire.api.otlp._details import span_details
from tracewire.api.otlp._messages import openinference_messages
from tracewire.api.otlp._usage import USAGE_KEYS, usage_of
from tracewire.api.otlp._values import (
    Precedence,
    indexed_lists,
    json_or_text,
    prefixed,
    string_list,
)
from tracewire.db.enums import StepType
from tracewire.db.step_payload import SpanDetails

# Read per span: a member of an Enum class costs a lookup through its metaclass.
_NODE, _LLM_CALL, _TOOL_CALL = StepType.NODE, StepType.LLM_CALL, StepType.TOOL_CALL
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
# The flattened lists read (`indexed_lists`), and the flattened metadata (`prefixed`).
_LISTS = (
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "llm.choices",
    "llm.tools",
    "retrieval.documents",
    "reranker.output_documents",
)
_OBSERVATION_METADATA = "langfuse.observation.metadata"
_TRACE_METADATA = "langfuse.trace.metadata"
_METADATA = "metadata"
# What several conventions name, strongest first (see the module docstring), and the
# flattened families, found in one pass over a span's attributes.
_PICKS = Precedence(
    {
        "model": (
            "langfuse.observation.model.name",
            "gen_ai.response.model",
            "gen_ai.request.model",
            "llm.model_name",
        ),
        "vendor": ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
        "user_id": ("user.id", "langfuse.user.id", "enduser.id"),
        "session_id": ("session.id", "langfuse.session.id", "gen_ai.conversation.id"),
        "tags": ("langfuse.trace.tags", "tag.tags"),
        "input": ("langfuse.observation.input", "gen_ai.input.messages"),
        "output": ("langfuse.observation.output", "gen_ai.output.messages"),
        "input.value": ("input.value",),
        "output.value": ("output.value",),
        **USAGE_KEYS,
    },
    groups={
        "lists": _LISTS,
        "metadata": (_OBSERVATION_METADATA, _TRACE_METADATA, _METADATA),
    },
)


@dataclass(slots=True)
class SpanFields:
    type: StepType
    model: str | None
    vendor: str | None
    input_tokens: int | None
    output_tokens: int | None
    # Parts of input_tokens: prompt tokens read from / written to the vendor's prompt cache.
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    cost: float | None
    input: Any
    output: Any
    level_error: str | None
    # Run-level fields the span carries (Langfuse puts them on every span of a trace).
    trace_name: str | None
    user_id: str | None
    session_id: str | None
    tags: list[str] | None
    metadata: dict[str, Any]
    trace_metadata: dict[str, Any]
    # Typed keys for the step payload: documents, system instructions, parameters...
    details: SpanDetails


def map_span(attrs: Mapping[str, Any]) -> SpanFields:
    picked, grouped = _PICKS.pick(attrs)
    type = _step_type(attrs)
    model = _text(picked.get("model"))
    usage = usage_of(picked, model)
    lists: dict[str, list[dict[str, Any]]] = {}
    prompt = completion = None
    metadata: dict[str, Any] = {}
    trace_metadata: dict[str, Any] = {}
    # Most spans have no flattened lists nor metadata.
    if (flattened := grouped.get("lists")) is not None:
        lists = indexed_lists(flattened)
        prompt = openinference_messages(lists, "input")
        completion = openinference_messages(lists, "output")
    if (flat := grouped.get("metadata")) is not None:
        metadata = prefixed(flat, _OBSERVATION_METADATA) or prefixed(flat, _METADATA)
        trace_metadata = prefixed(flat, _TRACE_METADATA)
    input = _value(picked, type, "input", prompt, "input.value")
    level_error = None
    if attrs.get("langfuse.observation.level") == "ERROR":
        message = attrs.get("langfuse.observation.status_message")
        level_error = str(message or "observation level ERROR")
    tags = picked.get("tags")
    return SpanFields(
        type,
        model,
        _text(picked.get("vendor")),
        *usage,
        input,
        _value(picked, type, "output", completion, "output.value"),
        level_error,
        _text(attrs.get("langfuse.trace.name")),
        _text(picked.get("user_id")),
        _text(picked.get("session_id")),
        None if tags is None else string_list(tags),
        metadata,
        trace_metadata,
        span_details(attrs, lists, usage, input, prompt),
    )


def _value(picked: Mapping[str, Any], type: StepType, side: str, messages: Any, plain: str) -> Any:
    """The step's input or output (`side`); `messages` are the span's OpenInference ones,
    `plain` the OpenInference key of the side's value. (A picked value is neither None nor
    empty, so its `json_or_text` is not None.)"""
    if (explicit := picked.get(side)) is not None:
        return json_or_text(explicit)
    if messages is not None and type is _LLM_CALL:
        return messages
    raw = picked.get(plain)
    return json_or_text(raw) if raw is not None else messages


def _step_type(attrs: Mapping[str, Any]) -> StepType:
    kind = attrs.get("langfuse.observation.type")
    if isinstance(kind, str) and kind:
        return _LANGFUSE_TYPES.get(kind.lower(), _NODE)
    kind = attrs.get("gen_ai.operation.name")
    if isinstance(kind, str) and kind:
        return _GENAI_TYPES.get(kind.lower(), _NODE)
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind:
        return _OPENINFERENCE_TYPES.get(kind, _NODE)
    if "gen_ai.tool.name" in attrs or "tool.name" in attrs:
        return _TOOL_CALL
    return _NODE


def _text(raw: Any) -> str | None:
    return None if raw is None else str(raw)
