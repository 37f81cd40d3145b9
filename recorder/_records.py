"""What travels from the agent's threads to the database, as plain tuples.

The hot path builds *raw* records: ids are ints (see `_ids`), times are `perf_counter()`
readings, values are the objects the agent passed. The writer thread *prepares* them
(`_prepare.py`) into *wire* records of the same kind: ids as 32-digit hex, times as epoch
seconds, values as JSON text, errors as text. Wire records are what a `Sink` receives and
what the disk spool stores; they survive a JSON round trip (as lists).

Position 0 of every record is its kind. Layouts, raw → wire:

    RUN_OPENED    kind, run, org, agent, user_id, conversation_id, input, metadata, tags, at
    RUN_CLOSED    kind, run, status, output, error_code, error_message, at
    STEP_STARTED  kind, step, run, parent, name, type, input, payload, model, vendor, at
    STEP_ENDED    kind, step, run, status, output, payload, model, vendor,
                  input_tokens, output_tokens, cost, error, at, started_at
                  → wire: ... cost, error_code, error_message, error_traceback, at, latency_ms
    STEP_INSTANT  raw only, a step recorded at once (thought, info...), wired as a
                  STEP_STARTED and a STEP_ENDED (so both always travel in one batch):
                  kind, step, run, parent, name, type, input, payload, model, vendor,
                  started_at, status, output, input_tokens, output_tokens, cost, error, at
    VENDOR_USED   kind, run, vendor, calls, errors, rate_limit_hits, input_tokens,
                  output_tokens, cost
    RUN_UPDATED   kind, run, changes (a dict of `runs` column → value: only what changed;
                  `metadata` merges into the run's, the rest replace)
    ARTIFACT_ADDED  wire only, queued by the artifact uploader once the object is stored:
                  kind, artifact, run, step, role, name, storage_key, mime_type,
                  size_bytes, sha256, at (epoch seconds)

A time (`at`, `started_at`) is a `perf_counter()` reading, or a timezone-aware `datetime`
when the caller gave the real time (spans ingested over OTLP carry their own).
"""

from collections.abc import Sequence
from types import TracebackType
from typing import Any, NamedTuple

RUN_OPENED = 0
RUN_CLOSED = 1
STEP_STARTED = 2
STEP_ENDED = 3
VENDOR_USED = 4
STEP_INSTANT = 5
ARTIFACT_ADDED = 6
RUN_UPDATED = 7

# Plain tuples (or lists, after the spool's JSON round trip): a NamedTuple costs 15x more
# to build, and the hot path builds two per step.
Record = Sequence[Any]


class ErrorInfo(NamedTuple):
    """An exception or a message; `code` defaults to the exception's class name.

    The traceback is taken when the error is recorded (the exception's own grows while it
    propagates) and formatted by the writer; or it is text already (a stack trace that
    arrived over OTLP, or from another process)."""

    error: BaseException | str
    code: str | None = None
    traceback: TracebackType | str | None = None

    @classmethod
    def of(cls, error: BaseException | str, code: str | None = None) -> "ErrorInfo":
        tb = error.__traceback__ if isinstance(error, BaseException) else None
        return cls(error, code, tb)


class Batch(NamedTuple):
    """Wire records committed together, in record order.

    `id` (32 hex digits) makes a re-sent batch recognisable: a sink skips a batch id it
    already committed. `health` is the sending recorder's stats when the batch was made,
    stored with the batch so the server can show ingestion health."""

    id: str
    records: list[Record]
    health: dict[str, Any] | None = None
