"""Readable views of the wire records a `MemorySink` receives (see `recorder._records`):
ids as `uuid.UUID`, JSON fields decoded."""

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

from tracewire.recorder import MemorySink
from tracewire.recorder._records import (
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    Record,
)


class RunOpened(NamedTuple):
    run_id: uuid.UUID
    org: str
    agent: str
    user_id: str | None
    conversation_id: str | None
    input: Any
    metadata: Any
    tags: list[str] | None
    started_at: float


class RunClosed(NamedTuple):
    run_id: uuid.UUID
    status: str
    output: Any
    error_code: str | None
    error_message: str | None
    finished_at: float


class StepStarted(NamedTuple):
    step_id: uuid.UUID
    run_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    type: str
    input: Any
    payload: Any
    model: str | None
    vendor: str | None
    started_at: float


class StepEnded(NamedTuple):
    step_id: uuid.UUID
    run_id: uuid.UUID
    status: str
    output: Any
    payload: Any
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
    run_id: uuid.UUID
    vendor: str
    calls: int
    errors: int
    rate_limit_hits: int
    input_tokens: int
    output_tokens: int
    cost: float


class RunUpdated(NamedTuple):
    run_id: uuid.UUID
    changes: dict[str, Any]  # JSON columns still as JSON text


View = RunOpened | RunClosed | StepStarted | StepEnded | VendorUsed | RunUpdated
_VIEWS: dict[int, tuple[type[Any], tuple[int, ...], tuple[int, ...]]] = {
    # kind: (view, positions of ids, positions of JSON), positions after the kind
    RUN_OPENED: (RunOpened, (0,), (5, 6)),
    RUN_CLOSED: (RunClosed, (0,), (2,)),
    STEP_STARTED: (StepStarted, (0, 1, 2), (5, 6)),
    STEP_ENDED: (StepEnded, (0, 1), (3, 4)),
    RUN_UPDATED: (RunUpdated, (0,), ()),
}


def view(record: Record) -> View:
    fields = list(record[1:])
    cls, id_positions, json_positions = _VIEWS.get(record[0], (VendorUsed, (0,), ()))
    for i in id_positions:
        fields[i] = None if fields[i] is None else uuid.UUID(fields[i])
    for i in json_positions:
        fields[i] = None if fields[i] is None else orjson.loads(fields[i])
    result: View = cls(*fields)
    return result


def records(sink: MemorySink | Sequence[Record]) -> list[View]:
    raw = sink.records if isinstance(sink, MemorySink) else sink
    return [view(record) for record in raw]


def started(raw: Sequence[Record]) -> list[StepStarted]:
    return [r for r in records(raw) if isinstance(r, StepStarted)]


def ended(raw: Sequence[Record]) -> dict[uuid.UUID, StepEnded]:
    return {r.step_id: r for r in records(raw) if isinstance(r, StepEnded)}
