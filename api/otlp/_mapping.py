"""Span attributes into Tracewire's step and run fields.

Conventions, strongest first: Langfuse's own (`langfuse.*`), OpenTelemetry GenAI
(`gen_ai.*`), OpenInference (`openinference.span.kind`, `llm.*`, `input.value`...), then
generic ones (`user.id`, `session.id`). The raw attributes are kept in the step payload.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracewire.api.otlp._values import first, integer, json_or_text, number, prefixed, string_list
from tracewire.db.enums import StepType
from tracewire.recorder.prices import cost_of

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
_INPUT_KEYS = ("input", "prompt_tokens", "input_tokens", "promptTokens", "inputTokens")
_OUTPUT_KEYS = ("output", "completion_tokens", "output_tokens", "completionTokens")


@dataclass(slots=True)
class SpanFields:
    type: StepType = StepType.NODE
    model: str | None = None
    vendor: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
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
    _usage(attrs, fields)
    fields.input = json_or_text(
        first(attrs, "langfuse.observation.input", "gen_ai.input.messages", "input.value")
    )
    fields.output = json_or_text(
        first(attrs, "langfuse.observation.output", "gen_ai.output.messages", "output.value")
    )
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
    return fields


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


def _usage(attrs: Mapping[str, Any], fields: SpanFields) -> None:
    usage = json_or_text(attrs.get("langfuse.observation.usage_details"))
    if isinstance(usage, dict):
        fields.input_tokens = integer(first(usage, *_INPUT_KEYS))
        fields.output_tokens = integer(first(usage, *_OUTPUT_KEYS))
    if fields.input_tokens is None:
        fields.input_tokens = integer(
            first(
                attrs,
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.prompt_tokens",
                "llm.token_count.prompt",
            )
        )
    if fields.output_tokens is None:
        fields.output_tokens = integer(
            first(
                attrs,
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
                "llm.token_count.completion",
            )
        )
    costs = json_or_text(attrs.get("langfuse.observation.cost_details"))
    if isinstance(costs, dict) and costs:
        total = number(costs.get("total"))
        parts = [number(v) for v in costs.values()]
        fields.cost = total if total is not None else sum(p for p in parts if p is not None)
    if fields.cost is None:
        fields.cost = number(first(attrs, "gen_ai.usage.cost", "llm.cost.total"))
    if fields.cost is None:
        fields.cost = cost_of(fields.model, fields.input_tokens, fields.output_tokens)


def _text(raw: Any) -> str | None:
    return None if raw is None else str(raw)
