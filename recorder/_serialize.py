"""JSON for whatever an agent hands us, done in the writer thread, never on the hot path."""

import base64
import dataclasses
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_MAX_BYTES_INLINE = 64


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
        return orjson.dumps(value, default=_default, option=_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        # Anything orjson still refuses (circular references, huge ints) is kept readable.
        return orjson.dumps({"unserializable": repr(value)[:10_000]}).decode()
