"""Readable views of the wire records a `MemorySink` receives (see `recorder._records`):
ids as `uuid.UUID`, JSON fields decoded, the kind left out. A view has its record's field
names (made by name from the record, so a renamed field fails here at once)."""

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

from tracewire.recorder import MemorySink
from tracewire.recorder._records import (
    ARTIFACT_ADDED,
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    VENDOR_USED,
    WireRecord,
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


class ArtifactAdded(NamedTuple):
    artifact_id: uuid.UUID
    run_id: uuid.UUID
    step_id: uuid.UUID | None
    role: str
    name: str
    storage_key: str
    mime_type: str
    size_bytes: int
    sha256: str
    created_at: float


View = RunOpened | RunClosed | StepStarted | StepEnded | VendorUsed | RunUpdated | ArtifactAdded
_VIEWS: dict[int, type[Any]] = {
    RUN_OPENED: RunOpened,
    RUN_CLOSED: RunClosed,
    STEP_STARTED: StepStarted,
    STEP_ENDED: StepEnded,
    VENDOR_USED: VendorUsed,
    RUN_UPDATED: RunUpdated,
    ARTIFACT_ADDED: ArtifactAdded,
}
_IDS = frozenset({"run_id", "step_id", "parent_id", "artifact_id"})
_JSON = frozenset({"input", "output", "payload", "metadata"})


def view(record: WireRecord) -> View:
    fields = record._asdict()
    del fields["kind"]
    for name in _IDS & fields.keys():
        fields[name] = None if fields[name] is None else uuid.UUID(fields[name])
    for name in _JSON & fields.keys():
        fields[name] = None if fields[name] is None else orjson.loads(fields[name])
    result: View = _VIEWS[record.kind](**fields)
    return result


def records(sink: MemorySink | Sequence[WireRecord]) -> list[View]:
    raw = sink.records if isinstance(sink, MemorySink) else sink
    return [view(record) for record in raw]


def started(raw: Sequence[WireRecord]) -> list[StepStarted]:
    return [r for r in records(raw) if isinstance(r, StepStarted)]


def ended(raw: Sequence[WireRecord]) -> dict[uuid.UUID, StepEnded]:
    return {r.step_id: r for r in records(raw) if isinstance(r, StepEnded)}
