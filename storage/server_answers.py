"""Reading a Tracewire server's refusals, for its clients in the recorder (the HTTP sink,
the artifact store): the message of its `{"error": ...}` body, and its `Retry-After`."""

import time

import orjson

LONGEST_WAIT_S = 300.0  # a Retry-After beyond this is read as this


def error_message(body: bytes) -> str | None:
    """The `error` of a JSON body; None when the body has none."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])
    return None


def retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delay-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        import email.utils  # rare, and slow to import

        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), LONGEST_WAIT_S)
