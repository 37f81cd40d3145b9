"""The wake-up message every writer sends after committing run events (the recorder, the
API's lifecycle mutations, the stalled-run sweep), through `tracewire.db.wakeups`, and every
server's hub reads.

`{"runs": [[org_id, run_id, first_seq, last_seq], ...]}`: ids and seq ranges only, never
rows, split so each payload stays far below Postgres's 8000-byte NOTIFY limit.
"""

import uuid
from collections.abc import Iterable
from typing import Any

import orjson

CHANNEL = "tracewire_events"
MAX_PAYLOAD_BYTES = 7000

Range = tuple[Any, Any, int, int] | list[Any]
"""(org id, run id, first seq, last seq): ids as UUIDs or strings."""


def payloads(ranges: Iterable[Range]) -> list[str]:
    """The messages announcing `ranges` of (org id, run id, first seq, last seq)."""
    found: list[str] = []
    chunk: list[list[Any]] = []
    size = 0
    for org_id, run_id, first, last in ranges:
        entry = [str(org_id), str(run_id), first, last]
        entry_size = len(orjson.dumps(entry)) + 1
        if chunk and size + entry_size > MAX_PAYLOAD_BYTES:
            found.append(orjson.dumps({"runs": chunk}).decode())
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        found.append(orjson.dumps({"runs": chunk}).decode())
    return found


def parse(message: str) -> list[tuple[uuid.UUID, uuid.UUID, int, int]]:
    """The (org id, run id, first seq, last seq) entries of a message; ValueError if it is
    not one of ours."""
    try:
        entries = orjson.loads(message)["runs"]
        return [(uuid.UUID(o), uuid.UUID(r), int(f), int(la)) for o, r, f, la in entries]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a run-events notification: {message[:200]!r}") from exc
