"""OTLP attribute values as plain Python, and the lookups the attribute mapping needs."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

Attributes = dict[str, Any]
# `prefix.<index>.rest`, at the first all-digit segment of the key.
_INDEXED = re.compile(r"([^.]+(?:\.[^.]+)*?)\.(\d+)\.(.+)")


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: value(pair.value) for pair in pairs}


def first(attrs: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present (not None, not empty)."""
    for key in keys:
        found = attrs.get(key)
        if found is not None and found != "":
            return found
    return None


def json_or_text(raw: Any) -> Any:
    """Instrumentations send structured input/output as JSON text; keep text that is not."""
    if isinstance(raw, str) and raw[:1] in ("{", "[", '"'):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw


def integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(float(raw))
        except ValueError:
            return None
    return None


def number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            return None
    return None


def prefixed(attrs: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """`prefix.a = 1, prefix.b = 2` (how Langfuse flattens metadata) as `{a: 1, b: 2}`; a
    value under `prefix` itself (JSON text or a map) is merged in too."""
    found: dict[str, Any] = {}
    whole = json_or_text(attrs.get(prefix))
    if isinstance(whole, dict):
        found.update(whole)
    start = prefix + "."
    for key, raw in attrs.items():
        if key.startswith(start):
            found[key[len(start) :]] = json_or_text(raw)
    return found


def string_list(raw: Any) -> list[str] | None:
    raw = json_or_text(raw)
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return None


def indexed_lists(attrs: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The lists OpenInference flattens into attributes (`llm.input_messages.0.message.role
    = "user"`, `...1...`), by prefix: one map per index, keyed by what follows the index
    (`{"message.role": "user"}`), in index order. An array of maps sent whole under a key
    (an exporter that did not flatten) is that key's list."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    lists: dict[str, list[dict[str, Any]]] = {}
    for key, raw in attrs.items():
        if (match := _INDEXED.match(key)) is not None:
            prefix, index, rest = match.groups()
            found.setdefault(prefix, {}).setdefault(int(index), {})[rest] = raw
        elif isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
            lists[key] = raw
    for prefix, items in found.items():
        lists.setdefault(prefix, [items[i] for i in sorted(items)])
    return lists


def text_of(content: Any) -> str | None:
    """The text in a message's content: a string, or the text parts of a list of parts
    (OpenAI's `{"type": "text", "text"}`, OTel GenAI's `{"type": "text", "content"}`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if content.get("type", "text") != "text":
            return None
        return text_of(content.get("text", content.get("content")))
    if isinstance(content, list):
        texts = [t for t in (text_of(part) for part in content) if t]
        return "\n".join(texts) if texts else None
    return None
