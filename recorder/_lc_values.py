"""What the LangChain callback handler reads out of LangChain objects: messages as plain
dicts, the model's name, token usage. Pure functions, no recording."""

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, LLMResult

_MODEL_KEYS = ("model_name", "model", "model_id", "ls_model_name")


def message_dict(message: BaseMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.type, "content": message.content}
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        out["tool_calls"] = tool_calls
    if isinstance(message, ToolMessage):
        out["tool_call_id"] = message.tool_call_id
    if message.name:
        out["name"] = message.name
    return out


def plain(value: Any) -> Any:
    """Messages and documents (also inside lists and dicts) as JSON-friendly dicts."""
    if isinstance(value, BaseMessage):
        return message_dict(value)
    if isinstance(value, Document):
        return {"page_content": value.page_content, "metadata": value.metadata}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def model_name(*sources: Mapping[str, Any] | None) -> str | None:
    """The first model name found in the given mappings (invocation params, metadata...)."""
    for source in sources:
        if not source:
            continue
        for key in _MODEL_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def generation_messages(response: LLMResult) -> list[BaseMessage]:
    return [
        g.message for batch in response.generations for g in batch if isinstance(g, ChatGeneration)
    ]


def llm_output_value(response: LLMResult) -> Any:
    messages = generation_messages(response)
    if len(messages) == 1:
        return message_dict(messages[0])
    if messages:
        return [message_dict(m) for m in messages]
    texts = [g.text for batch in response.generations for g in batch]
    return texts[0] if len(texts) == 1 else texts


def usage(response: LLMResult) -> tuple[int | None, int | None]:
    """Input and output tokens: summed `usage_metadata` of the generated messages, else the
    provider's `llm_output["token_usage"]` (OpenAI style) or `["usage"]` (Anthropic style)."""
    found: list[Mapping[str, Any]] = [
        u for m in generation_messages(response) if (u := getattr(m, "usage_metadata", None))
    ]
    if found:
        return (
            sum(int(u.get("input_tokens", 0)) for u in found),
            sum(int(u.get("output_tokens", 0)) for u in found),
        )
    output = response.llm_output or {}
    raw = output.get("token_usage") or output.get("usage") or {}
    if not isinstance(raw, Mapping):
        return None, None
    return (
        _int(raw.get("prompt_tokens", raw.get("input_tokens"))),
        _int(raw.get("completion_tokens", raw.get("output_tokens"))),
    )


def response_model(response: LLMResult) -> str | None:
    sources: list[Mapping[str, Any] | None] = [
        getattr(m, "response_metadata", None) for m in generation_messages(response)
    ]
    return model_name(*sources, response.llm_output)


def tool_output(output: Any) -> Any:
    if isinstance(output, ToolMessage):
        return output.content
    return plain(output)


def first_text(prompts: Sequence[str]) -> Any:
    return prompts[0] if len(prompts) == 1 else list(prompts)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def serialized_name(serialized: Mapping[str, Any] | None) -> str | None:
    if not serialized:
        return None
    name = serialized.get("name")
    if isinstance(name, str):
        return name
    ids = serialized.get("id")
    return str(ids[-1]) if isinstance(ids, list) and ids else None


def node_payload(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    keys = ("langgraph_node", "langgraph_step", "langgraph_triggers", "langgraph_path")
    found = {k.removeprefix("langgraph_"): metadata[k] for k in keys if k in metadata}
    return {"langgraph": plain(found)} if found else None
