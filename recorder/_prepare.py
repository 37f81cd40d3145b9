"""Raw records (what the hot path queued) into wire records (what a sink and the spool take).

Runs in the writer thread: serialisation, id formatting, clock conversion and traceback
formatting all happen here, off the agent's thread. A value that cannot be stored as given
(a float token count, a NUL in a name) is coerced, never allowed to fail a batch.
"""

import logging
import math
import time
import traceback
from datetime import datetime
from typing import Any

from tracewire.recorder._ids import as_hex
from tracewire.recorder._records import (
    KIND,
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_STARTED,
    VENDOR_USED,
    ArtifactAdded,
    ErrorInfo,
    QueuedRecord,
    RawRunClosed,
    RawRunOpened,
    RawRunUpdated,
    RawStepEnded,
    RawStepInstant,
    RawStepStarted,
    RawVendorUsed,
    RunClosed,
    RunOpened,
    RunUpdated,
    StepEnded,
    StepStarted,
    VendorUsed,
    WireRecord,
    named,
)
from tracewire.recorder._serialize import optional_text, text, to_json

logger = logging.getLogger("tracewire.recorder")

MAX_ERROR_MESSAGE = 8000


def wall_clock_anchor() -> float:
    """Add it to a `perf_counter()` reading to get epoch seconds. Taken afresh per batch, so
    wall-clock adjustments reach the records within one batch."""
    return time.time() - time.perf_counter()


def epoch(at: float | datetime, anchor: float) -> float:
    """A raw record's time in epoch seconds: a `perf_counter()` reading, or a given time."""
    if isinstance(at, datetime):
        return at.timestamp()
    return anchor + at


def latency_ms(started: float | datetime, ended: float | datetime, anchor: float) -> float:
    if isinstance(started, float) and isinstance(ended, float):
        return (ended - started) * 1000  # exact: epoch seconds would lose the microseconds
    return (epoch(ended, anchor) - epoch(started, anchor)) * 1000


def prepare(record: QueuedRecord, anchor: float) -> WireRecord:
    """Any queued record but a STEP_INSTANT (see `prepare_instant`). Runs per record: a
    step's records, two per step, are read and made with `named` (see `_records`), and
    their ids written with `to_bytes(16).hex()`, 2.5x faster than `f"{id:032x}"`."""
    kind = record[KIND]
    if kind == STEP_STARTED:
        s = named(RawStepStarted, record)
        return named(StepStarted, (
            STEP_STARTED, s.step_id.to_bytes(16).hex(), s.run_id.to_bytes(16).hex(),
            None if s.parent_id is None else as_hex(s.parent_id), text(s.name), str(s.type),
            to_json(s.input), to_json(s.payload), optional_text(s.model),
            optional_text(s.vendor), epoch(s.started_at, anchor),
        ))  # fmt: skip
    if kind == STEP_ENDED:
        e = named(RawStepEnded, record)
        return named(StepEnded, (
            STEP_ENDED, e.step_id.to_bytes(16).hex(), e.run_id.to_bytes(16).hex(), str(e.status),
            to_json(e.output), to_json(e.payload), optional_text(e.model),
            optional_text(e.vendor), _count(e.input_tokens), _count(e.output_tokens),
            _amount(e.cost), *error_fields(e.error), epoch(e.ended_at, anchor),
            latency_ms(e.started_at, e.ended_at, anchor),
        ))  # fmt: skip
    if kind == RUN_OPENED:
        o = RawRunOpened._make(record)
        return RunOpened(
            RUN_OPENED, f"{o.run_id:032x}", o.org, text(o.agent), optional_text(o.user_id),
            optional_text(o.conversation_id), to_json(o.input), to_json(o.metadata),
            None if o.tags is None else [text(tag) for tag in o.tags],
            epoch(o.started_at, anchor),
        )  # fmt: skip
    if kind == RUN_CLOSED:
        c = RawRunClosed._make(record)
        message = optional_text(c.error_message)
        return RunClosed(
            RUN_CLOSED, f"{c.run_id:032x}", c.status, to_json(c.output),
            optional_text(c.error_code), message[:MAX_ERROR_MESSAGE] if message else message,
            epoch(c.finished_at, anchor),
        )  # fmt: skip
    if kind == RUN_UPDATED:
        u = RawRunUpdated._make(record)
        return RunUpdated(RUN_UPDATED, f"{u.run_id:032x}", _run_changes(u.changes, anchor))
    if isinstance(record, ArtifactAdded):
        return record  # made in wire form by the uploader thread
    v = RawVendorUsed._make(record)
    return VendorUsed(
        VENDOR_USED, f"{v.run_id:032x}", text(v.vendor), _count(v.calls) or 0,
        _count(v.errors) or 0, _count(v.rate_limit_hits) or 0, _count(v.input_tokens) or 0,
        _count(v.output_tokens) or 0, _amount(v.cost) or 0.0,
    )  # fmt: skip


def prepare_instant(record: QueuedRecord, anchor: float) -> tuple[StepStarted, StepEnded]:
    """A STEP_INSTANT as the STEP_STARTED and STEP_ENDED wire records it stands for."""
    i = named(RawStepInstant, record)
    step_id, run_id, model, vendor = (
        i.step_id.to_bytes(16).hex(),
        i.run_id.to_bytes(16).hex(),
        optional_text(i.model),
        optional_text(i.vendor),
    )
    start = named(StepStarted, (
        STEP_STARTED, step_id, run_id, None if i.parent_id is None else as_hex(i.parent_id),
        text(i.name), str(i.type), to_json(i.input), to_json(i.payload), model, vendor,
        epoch(i.started_at, anchor),
    ))  # fmt: skip
    end = named(StepEnded, (
        STEP_ENDED, step_id, run_id, i.status, to_json(i.output), None, model, vendor,
        _count(i.input_tokens), _count(i.output_tokens), _amount(i.cost),
        *error_fields(i.error), epoch(i.ended_at, anchor),
        latency_ms(i.started_at, i.ended_at, anchor),
    ))  # fmt: skip
    return start, end


def error_fields(error: ErrorInfo | None) -> tuple[str | None, str | None, str | None]:
    """(code, message, traceback text) of a recorded error."""
    if error is None:
        return None, None, None
    exc, code, tb = error
    if isinstance(exc, BaseException):
        if isinstance(tb, str):
            trace = tb
        else:
            trace = "".join(traceback.format_exception(type(exc), exc, tb))
        return text(code or type(exc).__name__), text(exc)[:MAX_ERROR_MESSAGE], text(trace)
    given = tb if isinstance(tb, str) else None
    return text(code or "error"), text(exc)[:MAX_ERROR_MESSAGE], optional_text(given)


# `runs` columns a RUN_UPDATED may set, and how each is prepared.
JSON_COLUMNS = frozenset({"input", "output", "metadata"})
TEXT_COLUMNS = frozenset(
    {"agent", "user_id", "conversation_id", "external_trace_url", "error_code", "error_message"}
)
TIME_COLUMNS = frozenset({"started_at", "finished_at"})
RUN_COLUMNS = JSON_COLUMNS | TEXT_COLUMNS | TIME_COLUMNS | {"tags"}


def _run_changes(changes: dict[str, Any], anchor: float) -> dict[str, Any]:
    prepared: dict[str, Any] = {}
    for column, value in changes.items():
        if column in JSON_COLUMNS:
            prepared[column] = to_json(value)
        elif column in TEXT_COLUMNS:
            prepared[column] = optional_text(value)
        elif column in TIME_COLUMNS:
            prepared[column] = None if value is None else epoch(value, anchor)
        elif column == "tags":
            prepared[column] = None if value is None else [text(tag) for tag in value]
    return prepared


_INT32_MAX = 2**31 - 1


def _count(value: Any) -> int | None:
    if value is None or (type(value) is int and 0 <= value <= _INT32_MAX):
        return value
    try:
        return min(max(int(value), 0), _INT32_MAX)
    except (TypeError, ValueError, OverflowError):
        logger.warning("tracewire: dropping a count that is not a number: %r", value)
        return None


_MAX_AMOUNT = 1e10  # numeric(18, 8) holds less than 10^10


def _amount(value: Any) -> float | None:
    if value is None:
        return None
    try:
        amount = float(value)
    except (TypeError, ValueError, OverflowError):
        amount = math.nan
    if not math.isfinite(amount) or abs(amount) >= _MAX_AMOUNT:
        logger.warning("tracewire: dropping a cost that is not a storable number: %r", value)
        return None
    return amount
