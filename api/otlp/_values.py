"""OTLP attribute values as plain Python, and the lookups the attribute mapping needs."""

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tracewire.recorder._serialize import to_json

Attributes = dict[str, Any]
_NUMBERS = (int, float)
_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})
# `prefix.<index>.rest`, at the first all-digit segment of the key.
_INDEXED = re.compile(r"([^.]+(?:\.[^.]+)*?)\.(\d+)\.(.+)")


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind in _SCALARS:
        return getattr(any_value, kind)
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return any_value.bytes_value.hex()


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    # Strings read first: most values are, and one read costs less than `value`'s two.
    return {
        pair.key: any_value.string_value or value(any_value)
        for pair in pairs
        for any_value in (pair.value,)
    }


def first(attrs: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present (not None, not empty)."""
    for key in keys:
        found = attrs.get(key)
        if found is not None and found != "":
            return found
    return None


class Precedence:
    """Many `first(attrs, *keys)` lookups in one pass over the attributes: `names` maps
    each name to its keys, strongest first, and `pick` gives each name the value of its
    strongest key present (not None, not empty). A span has a few attributes and the
    conventions name dozens of keys, so a lookup per attribute beats one per key.

    Keys under a group's prefixes (flattened families: `metadata.*`...) are collected on
    the way, in attribute order; no key of `names` may fall under one."""

    __slots__ = ("_heads", "_ranks")

    def __init__(self, names: Mapping[str, Sequence[str]], groups: Mapping[str, tuple[str, ...]]):
        self._ranks = {
            key: (name, rank) for name, keys in names.items() for rank, key in enumerate(keys)
        }
        # The groups a key may fall under, by its first three characters: most keys are
        # ruled out by one lookup.
        heads: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for group, prefixes in groups.items():
            for head in {prefix[:3] for prefix in prefixes}:
                heads.setdefault(head, []).append((group, prefixes))
        self._heads = {head: tuple(found) for head, found in heads.items()}
        if len(self._ranks) != sum(len(keys) for keys in names.values()):
            raise ValueError("a key names two things")
        prefixes = tuple(prefix for prefixes in groups.values() for prefix in prefixes)
        if grouped := [key for key in self._ranks if key.startswith(prefixes)]:
            raise ValueError(f"keys under a group would not be picked: {grouped}")
        if any(len(prefix) < 3 for prefix in prefixes):
            raise ValueError("a group prefix shorter than its head")

    def pick(self, attrs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """(name → value, group → its keys' values) for what the span has."""
        picked: dict[str, Any] = {}
        ranks: dict[str, int] = {}
        grouped: dict[str, dict[str, Any]] = {}
        known, heads = self._ranks, self._heads
        for key, raw in attrs.items():
            found = known.get(key)
            if found is None:
                for group, prefixes in heads.get(key[:3], ()):
                    if key.startswith(prefixes):
                        if (members := grouped.get(group)) is None:
                            members = grouped[group] = {}
                        members[key] = raw
                        break
            elif raw is not None and raw != "":
                name, rank = found
                if name not in picked or rank < ranks[name]:
                    picked[name] = raw
                    ranks[name] = rank
        return picked, grouped


def json_or_text(raw: Any) -> Any:
    """Instrumentations send structured input/output as JSON text; keep text that is not."""
    if isinstance(raw, str) and raw[:1] in ("{", "[", '"'):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw


def json_text(value: Any) -> str | None:
    """`recorder._serialize.to_json(value)`, for less on what spans are made of (str keys,
    JSON types): the options `to_json` needs for whatever an agent passes (keys that are
    not str, above all) make orjson take a slower path. A value that needs them, or has a
    NUL to replace, gets `to_json` itself."""
    if value is None:
        return None
    try:
        raw = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError included
        return to_json(value)
    if b"\\u0000" in raw:
        return to_json(value)
    return raw.decode()


def integer(raw: Any) -> int | None:
    if type(raw) is int:
        return raw  # what OTLP's int_value gives
    if raw is None:
        return None
    if isinstance(raw, bool):
        return None
    try:
        if isinstance(raw, _NUMBERS):
            return int(raw)
        if isinstance(raw, str):
            return int(float(raw))
    except (ValueError, OverflowError):
        return None  # "abc", NaN, infinity: not a count
    return None


def number(raw: Any) -> float | None:
    if type(raw) is float:
        return raw
    if raw is None:
        return None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, _NUMBERS):
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
        if (indexed := _indexed(key)) is not None:
            prefix, index, rest = indexed
            if (items := found.get(prefix)) is None:
                items = found[prefix] = {}
            if (item := items.get(index)) is None:
                item = items[index] = {}
            item[rest] = raw
        elif isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
            lists[key] = raw
    for prefix, items in found.items():
        lists.setdefault(prefix, [items[i] for i in sorted(items)])
    return lists


@lru_cache(maxsize=4096)
def _indexed(key: str) -> tuple[str, int, str] | None:
    """(prefix, index, rest) of a flattened key; cached, as the same keys come in span
    after span and a regular expression costs more than the lookup."""
    if (match := _INDEXED.match(key)) is None:
        return None
    prefix, index, rest = match.groups()
    return prefix, int(index), rest


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
