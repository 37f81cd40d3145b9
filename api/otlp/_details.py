"""What a span carries besides input, output and usage, under the step payload's typed keys
(`tracewire.db.step_payload.SpanDetails`): retrieved documents, system instructions,
invocation parameters, tool definitions and prompt-cache counts."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tracewire.api.otlp._messages import system_text
from tracewire.api.otlp._values import json_or_text, number, text_of
from tracewire.db.step_payload import RetrievedDocument, SpanDetails, TokenUsage

if TYPE_CHECKING:
    from tracewire.api.otlp._mapping import SpanFields

# OTel GenAI's request settings (`gen_ai.request.<name>`), the model aside.
_GENAI_REQUEST = (
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


def span_details(
    attrs: Mapping[str, Any],
    lists: Mapping[str, list[dict[str, Any]]],
    fields: "SpanFields",
    openinference_prompt: Any,
) -> SpanDetails:
    """The details of a span whose input and usage `fields` has mapped already. `lists` are
    its flattened lists (`indexed_lists`); `openinference_prompt` its `llm.input_messages`
    as messages (None without)."""
    details = SpanDetails()
    usage = TokenUsage()
    if fields.cache_read_tokens is not None:
        usage["cache_read_input_tokens"] = fields.cache_read_tokens
    if fields.cache_write_tokens is not None:
        usage["cache_creation_input_tokens"] = fields.cache_write_tokens
    if usage:
        details["usage"] = usage
    if documents := _documents(lists):
        details["documents"] = documents
    system = _system_instructions(attrs, fields.input, openinference_prompt)
    if system is not None:
        details["system_instructions"] = system
    if parameters := _invocation_parameters(attrs):
        details["invocation_parameters"] = parameters
    if tools := _tool_definitions(attrs, lists):
        details["tool_definitions"] = tools
    return details


def _documents(lists: Mapping[str, list[dict[str, Any]]]) -> list[RetrievedDocument]:
    # A reranker's output documents are what it retrieved, in its order.
    flat = lists.get("retrieval.documents") or lists.get("reranker.output_documents", [])
    return [
        RetrievedDocument(
            id=None if (doc_id := d.get("document.id")) is None else str(doc_id),
            score=number(d.get("document.score")),
            content=None if (content := d.get("document.content")) is None else str(content),
            metadata=json_or_text(d.get("document.metadata")),
        )
        for d in flat
    ]


def _system_instructions(attrs: Mapping[str, Any], input: Any, prompt: Any) -> str | None:
    """OTel GenAI's `gen_ai.system_instructions`, else the system messages of the prompt
    (the step's input, or OpenInference's messages when `input.value` won over them)."""
    given = json_or_text(attrs.get("gen_ai.system_instructions"))
    if given is not None:
        return text_of(given)
    return system_text(input) or system_text(prompt)


def _invocation_parameters(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """OpenInference's JSON, under OTel GenAI's `gen_ai.request.*` settings, under
    Langfuse's model parameters: the usual precedence where they name the same setting."""
    parameters: dict[str, Any] = {}
    for key in ("llm.invocation_parameters", "embedding.invocation_parameters"):
        found = json_or_text(attrs.get(key))
        if isinstance(found, dict):
            parameters.update(found)
    for name in _GENAI_REQUEST:
        if (raw := attrs.get(f"gen_ai.request.{name}")) is not None:
            parameters[name] = raw
    langfuse = json_or_text(attrs.get("langfuse.observation.model.parameters"))
    if isinstance(langfuse, dict):
        parameters.update(langfuse)
    return parameters


def _tool_definitions(
    attrs: Mapping[str, Any], lists: Mapping[str, list[dict[str, Any]]]
) -> list[Any]:
    """OTel GenAI's `gen_ai.tool.definitions`, else OpenInference's `llm.tools`: each tool's
    JSON schema, or its name, description and parameters when it has no schema."""
    given = json_or_text(attrs.get("gen_ai.tool.definitions"))
    if isinstance(given, list) and given:
        return given
    tools: list[Any] = []
    for flat in lists.get("llm.tools", ()):
        schema = json_or_text(flat.get("tool.json_schema"))
        if schema is None:
            schema = {k.removeprefix("tool."): json_or_text(v) for k, v in flat.items()}
        tools.append(schema)
    return tools
