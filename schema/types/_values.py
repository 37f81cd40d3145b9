"""Large JSON values in lists: cut to a preview unless the client asks for the full value."""

from typing import Any

import orjson

# Bigger values are replaced by a preview string in responses (unless `full: true`).
MAX_INLINE_BYTES = 16 * 1024


def encoded_size(value: Any) -> int:
    if value is None:
        return 0
    return len(orjson.dumps(value))


def inline(value: Any, *, full: bool) -> Any:
    """The value itself when small (or `full`), else the start of its JSON text."""
    if full or value is None:
        return value
    text = orjson.dumps(value)
    if len(text) <= MAX_INLINE_BYTES:
        return value
    return text[:MAX_INLINE_BYTES].decode(errors="ignore") + "…"


def is_large(*values: Any) -> bool:
    return any(encoded_size(v) > MAX_INLINE_BYTES for v in values)
