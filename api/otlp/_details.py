"""What a span carries besides input, output and usage, under the step payload's typed keys
(`tracewire.db.step_payload.SpanDetails`): retrieved documents, system instructions,
invocation parameters, tool definitions and prompt-cache counts."""

from collections.abc import Mapping
from typing import Any

from tracewire.api.otlp._messages import system_text
from tracewire.api.otlp._usage import Usage
from tracewire.api.otlp._values import json_or_text, number, text_of
from tracewire.db.step_payload import RetrievedDocument, SpanDetails, TokenUsage

# OTel GenAI's request settings (`gen_ai.request.<name>`), the model aside: (name, key).
_GENAI_REQUEST = tuple(
    (name, f"gen_ai.request.{name}")
    for name in (
        "temperature",
        "max_tokens",
        "top_p",
        "top_k",
        "frequency_penalty",
        "presence_penalty",
        "stop_sequences",
        "seed",
        "choice.count",
        "encoding_formats",
    )
)
_OPENINFERENCE_PARAMETERS = ("llm.invocation_parameters", "embedding.invocation_parameters")
_LANGFUSE_PARAMETERS = "langfuse.observation.model.parameters"
_PARAMETER_KEYS = frozenset(
    (*_OPENINFERENCE_PARAMETERS, *(key for _, key in _GENAI_REQUEST), _LANGFUSE_PARAMETERS)
)
_TOOL_DEFINITIONS = "gen_ai.tool.definitions"


def span_details(
    attrs: Mapping[str, Any],
    lists: Mapping[str, list[dict[str, Any]]],
    usage: Usage,
    input: Any,
    openinference_prompt: Any,
) -> SpanDetails:
    """The details of a span whose `usage` and `input` are mapped already. `lists` are its
    flattened lists (`indexed_lists`); `openinference_prompt` its `llm.input_messages` as
    messages (None without)."""
    details: SpanDetails = {}
    if usage.cache_read_tokens is not None or usage.cache_write_tokens is not None:
        details["usage"] = _cache_usage(usage)
    if lists and (documents := _documents(lists)):
        details["documents"] = documents
    system = _system_instructions(attrs, input, openinference_prompt)
    if system is not None:
        details["system_instructions"] = system
    # Most spans have no parameters nor tools: one set operation rules both out.
    if not attrs.keys().isdisjoint(_PARAMETER_KEYS) and (
        parameters := _invocation_parameters(attrs)
    ):
        details["invocation_parameters"] = parameters
    if (lists or _TOOL_DEFINITIONS in attrs) and (tools := _tool_definitions(attrs, lists)):
        details["tool_definitions"] = tools
    return details


def _cache_usage(usage: Usage) -> TokenUsage:
    cache = TokenUsage()
    if usage.cache_read_tokens is not None:
        cache["cache_read_input_tokens"] = usage.cache_read_tokens
    if usage.cache_write_tokens is not None:
        cache["cache_creation_input_tokens"] = usage.cache_write_tokens
    return cache


def _documents(lists: Mapping[str, list[dict[str, Any]]]) -> list[RetrievedDocument]:
    # A reranker's output documents are what it retrieved, in its order.
    flat = lists.get("retrieval.documents") or lists.get("reranker.output_documents", [])
    return [
        {  # a RetrievedDocument, as a literal: calling the TypedDict costs twice as much
            "id": None if (doc_id := d.get("document.id")) is None else str(doc_id),
            "score": number(d.get("document.score")),
            "content": None if (content := d.get("document.content")) is None else str(content),
            "metadata": json_or_text(d.get("document.metadata")),
        }
        for d in flat
    ]


def _system_instructions(attrs: Mapping[str, Any], input: Any, prompt: Any) -> str | None:
    """OTel GenAI's `gen_ai.system_instructions`, else the system messages of the prompt
    (the step's input, or OpenInference's messages when `input.value` won over them)."""
    given = attrs.get("gen_ai.system_instructions")
    if given is not None:
        return text_of(json_or_text(given))
    if not isinstance(input, list) and not isinstance(prompt, list):
        return None  # no messages to look in (most spans)
    return system_text(input) or system_text(prompt)


def _invocation_parameters(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """OpenInference's JSON, under OTel GenAI's `gen_ai.request.*` settings, under
    Langfuse's model parameters: the usual precedence where they name the same setting."""
    parameters: dict[str, Any] = {}
    for key in _OPENINFERENCE_PARAMETERS:
        found = json_or_text(attrs.get(key))
        if isinstance(found, dict):
            parameters.update(found)
    for name, key in _GENAI_REQUEST:
        if (raw := attrs.get(key)) is not None:
            parameters[name] = raw
    langfuse = json_or_text(attrs.get(_LANGFUSE_PARAMETERS))
    if isinstance(langfuse, dict):
        parameters.update(langfuse)
    return parameters


def _tool_definitions(
    attrs: Mapping[str, Any], lists: Mapping[str, list[dict[str, Any]]]
) -> list[Any]:
    """OTel GenAI's `gen_ai.tool.definitions`, else OpenInference's `llm.tools`: each tool's
    JSON schema, or its name, description and parameters when it has no schema."""
    given = json_or_text(attrs.get(_TOOL_DEFINITIONS))
    if isinstance(given, list) and given:
        return given
    tools: list[Any] = []
    for flat in lists.get("llm.tools", ()):
        schema = json_or_text(flat.get("tool.json_schema"))
        if schema is None:
            schema = {k.removeprefix("tool."): json_or_text(v) for k, v in flat.items()}
        tools.append(schema)
    return tools
