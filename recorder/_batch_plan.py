"""What one batch does to each run it touches, worked out before the transaction opens:
new step rows, steps that ended (started in an earlier batch), events, counters, closes.

A step that starts and ends within one batch gets one `step_finished` event (in the slot
its start would have had, so parents still come before their children); subscribers take
any step event as "this step changed" and read the row.

Seq numbers are left out: they are allocated inside the transaction, under the run's row
lock, and filled in by `step_rows` / `event_rows`.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tracewire.db.enums import EventKind, RunStatus, StepStatus, StepType
from tracewire.recorder._records import (
    ARTIFACT_ADDED,
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    Record,
)

_RUNNING = StepStatus.RUNNING.value
_FAILED = StepStatus.FAILED.value
_NODE = StepType.NODE.value
_NO_DATA = "{}"
_STEP_STARTED = EventKind.STEP_STARTED.value
_STEP_FINISHED = EventKind.STEP_FINISHED.value
_ARTIFACT_ADDED = EventKind.ARTIFACT_ADDED.value
# Kinds whose position 1 is their own id and 2 their run's.
_RUN_SECOND = frozenset({STEP_STARTED, STEP_ENDED, ARTIFACT_ADDED})
_STATUS_DATA: dict[str, str] = {}


def _status_data(status: str) -> str:
    data = _STATUS_DATA.get(status)
    if data is None:
        data = _STATUS_DATA[status] = orjson.dumps({"status": status}).decode()
    return data


def _artifact_data(record: Record) -> str:
    """What a subscriber shows before it reads the artifact: name, role, type, size."""
    _, _, _, _, role, name, _, mime_type, size_bytes = record[:9]
    return orjson.dumps(
        {"role": role, "name": name, "mime_type": mime_type, "size_bytes": size_bytes}
    ).decode()


@dataclass(slots=True)
class RunDelta:
    """One run's share of a batch; applied with one UPDATE under the run's row lock."""

    new_steps: list[tuple[Record, Record | None]] = field(default_factory=list)
    ended_steps: list[Record] = field(default_factory=list)  # started in an earlier batch
    # (kind, step id, data, artifact id)
    events: list[tuple[str, str | None, str, str | None]] = field(default_factory=list)
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    current_node: str | None = None
    closes: list[Record] = field(default_factory=list)
    vendor: list[Record] = field(default_factory=list)
    # No event: run_events.kind has no kind for it, and a run's fields are read, not replayed.
    updates: list[Record] = field(default_factory=list)
    artifacts: list[Record] = field(default_factory=list)

    def count_end(self, end: Record) -> None:
        if end[3] == _FAILED:
            self.errors += 1
        self.input_tokens += end[8] or 0
        self.output_tokens += end[9] or 0
        self.cost += end[10] or 0.0


def plan(records: Iterable[Record]) -> dict[str, RunDelta]:
    """Per run id (hex), in record order."""
    deltas: dict[str, RunDelta] = {}
    # step id -> ([start, end], index of its event) of steps new in this batch
    started: dict[str, tuple[list[Any], int]] = {}
    for record in records:
        kind = record[0]
        run = record[2] if kind in _RUN_SECOND else record[1]
        delta = deltas.get(run)
        if delta is None:
            delta = deltas[run] = RunDelta()
        if kind == STEP_STARTED:
            pair: list[Any] = [record, None]
            started[record[1]] = (pair, len(delta.events))
            delta.new_steps.append(pair)  # type: ignore[arg-type]
            delta.events.append((_STEP_STARTED, record[1], _NO_DATA, None))
            if record[5] == _NODE:
                delta.current_node = record[4]
        elif kind == STEP_ENDED:
            event = (_STEP_FINISHED, record[1], _status_data(record[3]), None)
            new = started.get(record[1])
            if new is not None:
                # Started and ended in this batch: one event says the step changed.
                new[0][1] = record
                delta.events[new[1]] = event
            else:
                delta.ended_steps.append(record)
                delta.events.append(event)
            delta.count_end(record)
        elif kind == RUN_OPENED:
            delta.events.append(
                (EventKind.RUN_CREATED, None, _status_data(RunStatus.RUNNING), None)
            )
        elif kind == RUN_CLOSED:
            delta.closes.append(record)
            delta.events.append((EventKind.RUN_STATUS_CHANGED, None, _status_data(record[2]), None))
        elif kind == ARTIFACT_ADDED:
            delta.artifacts.append(record)
            delta.events.append((_ARTIFACT_ADDED, record[3], _artifact_data(record), record[1]))
        elif kind == RUN_UPDATED:
            delta.updates.append(record)
        else:
            delta.vendor.append(record)
    return deltas


def step_row(start: Record, end: Record | None, org_id: Any, seq: int) -> tuple[Any, ...]:
    """A `steps` row in `STEP_COLUMNS` order (see the sink)."""
    if end is None:
        return (
            start[1], org_id, start[2], seq, start[3], start[4], start[5], _RUNNING,
            start[6], None, start[7] or _NO_DATA, start[10], None, None, start[8], start[9],
            None, None, None, None, None, None,
        )  # fmt: skip
    payload = start[7]
    if end[5] is not None:
        payload = merge_payloads(payload, end[5])
    return (
        start[1], org_id, start[2], seq, start[3], start[4], start[5], end[3],
        start[6], end[4], payload or _NO_DATA, start[10], end[14], end[15],
        end[6] or start[8], end[7] or start[9], end[8], end[9], end[10],
        end[11], end[12], end[13],
    )  # fmt: skip


def merge_payloads(first: str | None, second: str) -> str:
    if first is None:
        return second
    return orjson.dumps({**orjson.loads(first), **orjson.loads(second)}).decode()
