"""OpenInference's flattened chat messages (`llm.input_messages.0.message.role`...) as a list
of messages shaped like OpenAI's: `{role, content, tool_calls?, name?, tool_call_id?}`, where
content is the message's text or, for a multi-part message, a list of parts."""

from collections.abc import Mapping
from typing import Any

from tracewire.api.otlp._values import indexed_lists, json_or_text, text_of

# OpenInference's nested media leaves, under shorter names.
_PART_KEYS = {
    "image.image.url": "url",
    "audio.audio.url": "url",
    "audio.audio.mime_type": "mime_type",
    "audio.audio.transcript": "transcript",
    "video.video.url": "url",
}
_SYSTEM_ROLES = ("system", "developer")
_CHOICES = ("llm.choices", "completion.text")


def openinference_messages(lists: Mapping[str, list[dict[str, Any]]], side: str) -> Any:
    """`llm.input_messages` / `llm.output_messages` (side "input" / "output") as messages;
    else the legacy completions API's `llm.prompts` / `llm.choices` as the text (a list of
    texts for several). None when the span has neither. `lists` are the span's flattened
    lists (`indexed_lists`)."""
    flat = lists.get(f"llm.{side}_messages")
    if flat:
        return [_message(item) for item in flat]
    legacy, leaf = ("llm.prompts", "prompt.text") if side == "input" else _CHOICES
    texts = [item.get(leaf) for item in lists.get(legacy, ())]
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else texts


def system_text(messages: Any) -> str | None:
    """The text of the system (or OpenAI `developer`) messages among `messages`."""
    if not isinstance(messages, list):
        return None
    found = [
        text
        for m in messages
        if isinstance(m, dict)
        and m.get("role") in _SYSTEM_ROLES
        and (text := text_of(m.get("content", m.get("parts"))))
    ]
    return "\n\n".join(found) if found else None


def _message(flat: dict[str, Any]) -> dict[str, Any]:
    nested = indexed_lists(flat)
    content = flat.get("message.content")
    if content is None:
        content = [_part(part) for part in nested.get("message.contents", ())] or None
    message: dict[str, Any] = {"role": flat.get("message.role"), "content": content}
    calls = [_tool_call(call) for call in nested.get("message.tool_calls", ())]
    if calls:
        message["tool_calls"] = calls
    for key in ("name", "tool_call_id"):
        if (found := flat.get(f"message.{key}")) is not None:
            message[key] = found
    if (function := flat.get("message.function_call_name")) is not None:
        arguments = json_or_text(flat.get("message.function_call_arguments_json"))
        message["function_call"] = {"name": function, "arguments": arguments}
    return message


def _part(flat: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = {"type": flat.get("message_content.type") or "text"}
    for key, raw in flat.items():
        name = key.removeprefix("message_content.")
        if name != "type":
            part[_PART_KEYS.get(name, name)] = raw
    return part


def _tool_call(flat: dict[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": flat.get("tool_call.function.name"),
            "arguments": json_or_text(flat.get("tool_call.function.arguments")),
        },
    }
    if (call_id := flat.get("tool_call.id")) is not None:
        call["id"] = call_id
    return call
