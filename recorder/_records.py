"""What travels from the agent's threads to the database: every record's layout, declared
once here as a NamedTuple per kind.

The hot path builds *raw* records: ids are ints (see `_ids`), times are `perf_counter()`
readings, values are the objects the agent passed. The writer thread *prepares* them
(`_prepare.py`) into *wire* records of the same kind: ids as 32-digit hex, times as epoch
seconds, values as JSON text, errors as text. Wire records are what a `Sink` receives and
what the disk spool stores; they come back from the spool's JSON as lists, which
`wire_record` turns back into the named shape.

Raw records are plain tuples laid out as the `Raw*` classes say: a NamedTuple costs 15x a
tuple literal to build, and the hot path builds two per step. The `Raw*` classes are for
reading them, and nothing reads a raw record by position but its kind:
tests/recorder/test_records.py checks that every literal the hot path builds follows its
class. Wire records are the NamedTuples themselves, made on the writer's thread.

Where the writer reads a record per step, it unpacks it once into locals named after its
class's fields, in their order, and names the class in the line's comment:
`(_, step_id, run_id, ...) = record  # a RawStepStarted`. That costs what reading by index
did; a named read costs a lookup each, and a step's records have some 25 fields. The test
checks every such unpacking's names against its class's `_fields`.

Field 0 of every record is its kind (`KIND`). STEP_INSTANT is raw only: a step recorded at
once (thought, info...), wired as a STEP_STARTED and a STEP_ENDED, so both always travel in
one batch. ARTIFACT_ADDED is wire only: the artifact uploader queues it once the object is
stored. Wire fields are named after the columns they fill (`db.models`); the Postgres sink
matches them by name.

A raw time (`started_at`, `ended_at`...) is a `perf_counter()` reading, or a timezone-aware
`datetime` when the caller gave the real time (spans ingested over OTLP carry their own).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal, NamedTuple

KIND: Final = 0  # the position of every record's kind

RUN_OPENED: Final = 0
RUN_CLOSED: Final = 1
STEP_STARTED: Final = 2
STEP_ENDED: Final = 3
VENDOR_USED: Final = 4
STEP_INSTANT: Final = 5
ARTIFACT_ADDED: Final = 6
RUN_UPDATED: Final = 7

# Raw times and ids: see the module docstring.
When = float | datetime


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


# -- wire records: what a sink receives ---------------------------------------------------
# JSON values are JSON text (or None); times are epoch seconds; ids are 32 hex digits.


class RunOpened(NamedTuple):
    kind: Literal[0]
    run_id: str
    org: str  # the organization's slug
    agent: str
    user_id: str | None
    conversation_id: str | None
    input: str | None
    metadata: str | None
    tags: list[str] | None
    started_at: float


class RunClosed(NamedTuple):
    kind: Literal[1]
    run_id: str
    status: str
    output: str | None
    error_code: str | None
    error_message: str | None
    finished_at: float


class StepStarted(NamedTuple):
    kind: Literal[2]
    step_id: str
    run_id: str
    parent_id: str | None
    name: str
    type: str
    input: str | None
    payload: str | None
    model: str | None
    vendor: str | None
    started_at: float


class StepEnded(NamedTuple):
    kind: Literal[3]
    step_id: str
    run_id: str
    status: str
    output: str | None
    payload: str | None  # merged into the start's
    model: str | None
    vendor: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost: float | None
    error_code: str | None
    error_message: str | None
    error_traceback: str | None
    ended_at: float
    latency_ms: float


class VendorUsed(NamedTuple):
    kind: Literal[4]
    run_id: str
    vendor: str
    calls: int
    errors: int
    rate_limit_hits: int
    input_tokens: int
    output_tokens: int
    cost: float


class ArtifactAdded(NamedTuple):
    kind: Literal[6]
    artifact_id: str
    run_id: str
    step_id: str | None
    role: str
    name: str
    storage_key: str
    mime_type: str
    size_bytes: int
    sha256: str
    created_at: float


class RunUpdated(NamedTuple):
    """`changes`: a dict of `runs` column → value, only what changed; `metadata` merges
    into the run's, the rest replace."""

    kind: Literal[7]
    run_id: str
    changes: dict[str, Any]


WireRecord = (
    RunOpened | RunClosed | StepStarted | StepEnded | VendorUsed | ArtifactAdded | RunUpdated
)
WIRE_RECORDS: Final[dict[int, type[WireRecord]]] = {
    RUN_OPENED: RunOpened,
    RUN_CLOSED: RunClosed,
    STEP_STARTED: StepStarted,
    STEP_ENDED: StepEnded,
    VENDOR_USED: VendorUsed,
    ARTIFACT_ADDED: ArtifactAdded,
    RUN_UPDATED: RunUpdated,
}


def wire_record(values: Sequence[Any]) -> WireRecord:
    """A wire record from its JSON form (a list, as the spool reads it back)."""
    try:
        cls = WIRE_RECORDS[values[KIND]]
    except (KeyError, IndexError):
        raise ValueError(f"not a wire record: {values!r:.200}") from None
    return cls._make(values)


# -- raw records: what the hot path queues, as plain tuples in these fields' order --------


class RawRunOpened(NamedTuple):
    kind: Literal[0]
    run_id: int
    org: str
    agent: Any
    user_id: Any
    conversation_id: Any
    input: Any
    metadata: Any
    tags: Any
    started_at: When


class RawRunClosed(NamedTuple):
    kind: Literal[1]
    run_id: int
    status: str
    output: Any
    error_code: Any
    error_message: Any
    finished_at: When


class RawStepStarted(NamedTuple):
    kind: Literal[2]
    step_id: int
    run_id: int
    parent_id: int | uuid.UUID | None
    name: Any
    type: str
    input: Any
    payload: Any
    model: Any
    vendor: Any
    started_at: When


class RawStepEnded(NamedTuple):
    kind: Literal[3]
    step_id: int
    run_id: int
    status: str
    output: Any
    payload: Any
    model: Any
    vendor: Any
    input_tokens: Any
    output_tokens: Any
    cost: Any
    error: ErrorInfo | None
    ended_at: When
    started_at: When  # the step's start, for its latency


class RawVendorUsed(NamedTuple):
    kind: Literal[4]
    run_id: int
    vendor: Any
    calls: Any
    errors: Any
    rate_limit_hits: Any
    input_tokens: Any
    output_tokens: Any
    cost: Any


class RawStepInstant(NamedTuple):
    kind: Literal[5]
    step_id: int
    run_id: int
    parent_id: int | uuid.UUID | None
    name: Any
    type: str
    input: Any
    payload: Any
    model: Any
    vendor: Any
    started_at: When
    status: str
    output: Any
    input_tokens: Any
    output_tokens: Any
    cost: Any
    error: ErrorInfo | None
    ended_at: When


class RawRunUpdated(NamedTuple):
    kind: Literal[7]
    run_id: int
    changes: dict[str, Any]


# `named(Cls, values)`: a `Cls` of `values` in field order, as `Cls._make` makes it but
# without its Python frame (nor its length check): half the cost, for the writer's
# per-record loop, where the NamedTuple constructor's frame would cost as much again.
named: Final = tuple.__new__

RAW_RECORDS: Final[dict[int, type[tuple[Any, ...]]]] = {
    RUN_OPENED: RawRunOpened,
    RUN_CLOSED: RawRunClosed,
    STEP_STARTED: RawStepStarted,
    STEP_ENDED: RawStepEnded,
    VENDOR_USED: RawVendorUsed,
    STEP_INSTANT: RawStepInstant,
    RUN_UPDATED: RawRunUpdated,
}
# What the writer's queue holds: raw records as plain tuples, and ARTIFACT_ADDED wire ones.
QueuedRecord = tuple[Any, ...]


class Batch(NamedTuple):
    """Wire records committed together, in record order.

    `id` (32 hex digits) makes a re-sent batch recognisable: a sink skips a batch id it
    already committed. `health` is the sending recorder's stats when the batch was made,
    stored with the batch so the server can show ingestion health."""

    id: str
    records: list[WireRecord]
    health: dict[str, Any] | None = None
