"""JSON and text for whatever an agent hands us, done in the writer thread, never on the hot
path. Everything that comes out is storable: Postgres refuses NUL characters (in `text` and
in `jsonb`) and lone surrogates, and one refused value would fail its whole batch."""

import base64
import dataclasses
import re
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_MAX_BYTES_INLINE = 64
_REPLACEMENT = "\ufffd"
# A `\u0000` escape that is not itself an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def _default(value: Any) -> Any:
    # Pydantic v2 models (LangChain messages, LangGraph state) and v1-style objects.
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "dict") and callable(value.dict):
        return value.dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) <= _MAX_BYTES_INLINE:
            return {"bytes_base64": base64.b64encode(raw).decode()}
        return {"bytes_length": len(raw)}
    if isinstance(value, BaseException):
        return {"type": type(value).__name__, "message": str(value)}
    return repr(value)


def to_json(value: Any) -> str | None:
    """JSON text for a JSONB column; None stays SQL NULL."""
    if value is None:
        return None
    try:
        raw = orjson.dumps(value, default=_default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        # Anything orjson still refuses (circular references, huge ints, surrogates) is
        # kept readable.
        raw = orjson.dumps({"unserializable": text(repr(value)[:10_000])})
    if b"\\u0000" in raw:
        raw = _JSON_NUL.sub(rb"\1\\ufffd", raw)
    return raw.decode()


def text(value: object) -> str:
    """`value` as text a `text` column accepts."""
    if type(value) is str and value.isascii() and "\x00" not in value:
        return value  # the common case; isascii() is a flag check, and rules out surrogates
    result = value if isinstance(value, str) else str(value)
    if "\x00" in result:
        result = result.replace("\x00", _REPLACEMENT)
    try:
        result.encode()
    except UnicodeEncodeError:
        result = result.encode(errors="replace").decode()
    return result


def optional_text(value: object) -> str | None:
    return None if value is None else text(value)
