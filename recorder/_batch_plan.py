"""What one batch does to each run it touches, worked out before the transaction opens:
new step rows, steps that ended (started in an earlier batch), events, counters, closes.

A step that starts and ends within one batch gets one `step_finished` event (in the slot
its start would have had, so parents still come before their children); subscribers take
any step event as "this step changed" and read the row.

Seq numbers are left out: they are allocated inside the transaction, under the run's row
lock, and filled in by `RunDelta.step_rows` / `event_rows`, whose columns (`STEP_COLUMNS`,
`EVENT_COLUMNS`) come from the models by name (see `_columns`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from tracewire.db.enums import EventKind, RunStatus, StepStatus, StepType
from tracewire.db.models import RunEvent, Step
from tracewire.recorder._columns import checked, fill
from tracewire.recorder._records import (
    ARTIFACT_ADDED,
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    ArtifactAdded,
    RunClosed,
    RunUpdated,
    StepEnded,
    StepStarted,
    VendorUsed,
    WireRecord,
)

_RUNNING = StepStatus.RUNNING.value
_FAILED = StepStatus.FAILED.value
_NODE = StepType.NODE.value
_NO_DATA = "{}"
_STEP_STARTED = EventKind.STEP_STARTED.value
_STEP_FINISHED = EventKind.STEP_FINISHED.value
_ARTIFACT_ADDED = EventKind.ARTIFACT_ADDED.value
_STATUS_DATA: dict[str, str] = {}


class Event(NamedTuple):
    """A `run_events` row but its run, seq and org (`RunDelta.event_rows` adds them). A
    step's two events are built as plain tuples in these fields' order (a NamedTuple costs
    more to build; tests/recorder/test_columns.py checks the order)."""

    kind: str
    step_id: str | None
    artifact_id: str | None
    data: str


EventRow = tuple[str, str | None, str | None, str]  # an Event, or a plain tuple laid out so

# run_events: the run, seq and org, then an Event's fields (every one a column, by name).
_EVENT = fill(RunEvent, Event, ignored=())
if _EVENT.columns != Event._fields:
    raise LookupError(f"Event's fields are not all columns of run_events: {Event._fields}")
EVENT_COLUMNS = checked(RunEvent, ("run_id", "seq", "org_id", *_EVENT.columns))

# steps: the values worked out per row, then the start's fields and the end's that are
# columns of `steps`, by name. `RunDelta.step_rows` builds its rows in this order from the
# records' fields unpacked into locals of their names; tests/recorder/test_columns.py
# checks, column by column, that each gets the field of its name.
_WORKED_OUT = ("org_id", "seq", "payload", "model", "vendor")
_FROM_START = fill(Step, StepStarted, renamed={"step_id": "id"}, besides=_WORKED_OUT)
_FROM_END = fill(
    Step, StepEnded, renamed={"step_id": "id"}, besides=(*_WORKED_OUT, *_FROM_START.columns)
)
STEP_COLUMNS = checked(Step, (*_WORKED_OUT, *_FROM_START.columns, *_FROM_END.columns), every=True)
# What a step that has not ended has in the end's columns.
_NOT_ENDED = tuple(_RUNNING if column == "status" else None for column in _FROM_END.columns)


def _status_data(status: str) -> str:
    data = _STATUS_DATA.get(status)
    if data is None:
        data = _STATUS_DATA[status] = orjson.dumps({"status": status}).decode()
    return data


def _artifact_data(record: ArtifactAdded) -> str:
    """What a subscriber shows before it reads the artifact: name, role, type, size."""
    return orjson.dumps(
        {
            "role": record.role,
            "name": record.name,
            "mime_type": record.mime_type,
            "size_bytes": record.size_bytes,
        }
    ).decode()


@dataclass(slots=True)
class RunDelta:
    """One run's share of a batch; applied with one UPDATE under the run's row lock."""

    new_steps: list[tuple[StepStarted, StepEnded | None]] = field(default_factory=list)
    ended_steps: list[StepEnded] = field(default_factory=list)  # started in an earlier batch
    events: list[EventRow] = field(default_factory=list)
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    current_node: str | None = None
    closes: list[RunClosed] = field(default_factory=list)
    vendor: list[VendorUsed] = field(default_factory=list)
    # No event: run_events.kind has no kind for it, and a run's fields are read, not replayed.
    updates: list[RunUpdated] = field(default_factory=list)
    artifacts: list[ArtifactAdded] = field(default_factory=list)

    def step_rows(self, org_id: Any, first_seq: int) -> list[tuple[Any, ...]]:
        """The new steps' rows in `STEP_COLUMNS` order, their seq counting from `first_seq`.
        Runs per step: the records are read by unpacking (see `_records`)."""
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        for seq, (start, end) in enumerate(self.new_steps, first_seq):
            (_, step_id, run_id, parent_id, name, type_, input_, payload, model, vendor,
             started_at) = start  # a StepStarted  # fmt: skip
            if end is None:
                append((
                    org_id, seq, payload or _NO_DATA, model, vendor,
                    step_id, run_id, parent_id, name, type_, input_, started_at, *_NOT_ENDED,
                ))  # fmt: skip
                continue
            (_, _, _, status, output, end_payload, end_model, end_vendor, input_tokens,
             output_tokens, cost, error_code, error_message, error_traceback, ended_at,
             latency_ms) = end  # a StepEnded  # fmt: skip
            if end_payload is not None:
                payload = merge_payloads(payload, end_payload)
            append((
                org_id, seq, payload or _NO_DATA, end_model or model, end_vendor or vendor,
                step_id, run_id, parent_id, name, type_, input_, started_at,
                status, output, input_tokens, output_tokens, cost, error_code, error_message,
                error_traceback, ended_at, latency_ms,
            ))  # fmt: skip
        return rows

    def event_rows(self, run_id: str, org_id: Any, first_seq: int) -> list[tuple[Any, ...]]:
        """The events' rows in `EVENT_COLUMNS` order, their seq counting from `first_seq`."""
        return [(run_id, seq, org_id, *event) for seq, event in enumerate(self.events, first_seq)]

    def count_end(self, end: StepEnded) -> None:
        if end.status == _FAILED:
            self.errors += 1
        self.input_tokens += end.input_tokens or 0
        self.output_tokens += end.output_tokens or 0
        self.cost += end.cost or 0.0


def plan(records: Iterable[WireRecord]) -> dict[str, RunDelta]:
    """Per run id (hex), in record order."""
    deltas: dict[str, RunDelta] = {}
    # step id -> (its start, index in its run's new_steps, index of its event), for the
    # steps new in this batch
    started: dict[str, tuple[StepStarted, int, int]] = {}
    for record in records:
        run = record.run_id
        delta = deltas.get(run)
        if delta is None:
            delta = deltas[run] = RunDelta()
        if record.kind == STEP_STARTED:
            step_id = record.step_id
            started[step_id] = (record, len(delta.new_steps), len(delta.events))
            delta.new_steps.append((record, None))
            delta.events.append((_STEP_STARTED, step_id, None, _NO_DATA))  # an Event
            if record.type == _NODE:
                delta.current_node = record.name
        elif record.kind == STEP_ENDED:
            step_id = record.step_id
            event = (_STEP_FINISHED, step_id, None, _status_data(record.status))  # an Event
            new = started.get(step_id)
            if new is not None:
                # Started and ended in this batch: one event says the step changed.
                start, step_index, event_index = new
                delta.new_steps[step_index] = (start, record)
                delta.events[event_index] = event
            else:
                delta.ended_steps.append(record)
                delta.events.append(event)
            delta.count_end(record)
        elif record.kind == RUN_OPENED:
            delta.events.append(
                Event(EventKind.RUN_CREATED, None, None, _status_data(RunStatus.RUNNING))
            )
        elif record.kind == RUN_CLOSED:
            delta.closes.append(record)
            delta.events.append(
                Event(EventKind.RUN_STATUS_CHANGED, None, None, _status_data(record.status))
            )
        elif record.kind == ARTIFACT_ADDED:
            delta.artifacts.append(record)
            delta.events.append(
                Event(_ARTIFACT_ADDED, record.step_id, record.artifact_id, _artifact_data(record))
            )
        elif record.kind == RUN_UPDATED:
            delta.updates.append(record)
        else:
            delta.vendor.append(record)
    return deltas


def merge_payloads(first: str | None, second: str) -> str:
    if first is None:
        return second
    return orjson.dumps({**orjson.loads(first), **orjson.loads(second)}).decode()
