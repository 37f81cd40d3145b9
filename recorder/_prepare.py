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
    """Any queued record but a STEP_INSTANT (see `prepare_instant`). Runs per record: a raw
    record is read by unpacking it in its class's field order (see `_records`; `type_` and
    `input_` for builtins' names), a step's wire records are made with `named`, and their
    ids written with `to_bytes(16).hex()`, 2.5x faster than `f"{id:032x}"`."""
    kind = record[KIND]
    if kind == STEP_STARTED:
        (_, step_id, run_id, parent_id, name, type_, input_, payload, model, vendor,
         started_at) = record  # a RawStepStarted  # fmt: skip
        return named(StepStarted, (
            STEP_STARTED, step_id.to_bytes(16).hex(), run_id.to_bytes(16).hex(),
            None if parent_id is None else as_hex(parent_id), text(name), str(type_),
            to_json(input_), to_json(payload), optional_text(model), optional_text(vendor),
            epoch(started_at, anchor),
        ))  # fmt: skip
    if kind == STEP_ENDED:
        (_, step_id, run_id, status, output, payload, model, vendor, input_tokens,
         output_tokens, cost, error, ended_at,
         started_at) = record  # a RawStepEnded  # fmt: skip
        return named(StepEnded, (
            STEP_ENDED, step_id.to_bytes(16).hex(), run_id.to_bytes(16).hex(), str(status),
            to_json(output), to_json(payload), optional_text(model), optional_text(vendor),
            _count(input_tokens), _count(output_tokens), _amount(cost), *error_fields(error),
            epoch(ended_at, anchor), latency_ms(started_at, ended_at, anchor),
        ))  # fmt: skip
    if kind == RUN_OPENED:
        (_, run_id, org, agent, user_id, conversation_id, input_, metadata, tags,
         started_at) = record  # a RawRunOpened  # fmt: skip
        return RunOpened(
            RUN_OPENED, f"{run_id:032x}", org, text(agent), optional_text(user_id),
            optional_text(conversation_id), to_json(input_), to_json(metadata),
            None if tags is None else [text(tag) for tag in tags], epoch(started_at, anchor),
        )  # fmt: skip
    if kind == RUN_CLOSED:
        (_, run_id, status, output, error_code, error_message,
         finished_at) = record  # a RawRunClosed  # fmt: skip
        message = optional_text(error_message)
        return RunClosed(
            RUN_CLOSED, f"{run_id:032x}", status, to_json(output), optional_text(error_code),
            message[:MAX_ERROR_MESSAGE] if message else message, epoch(finished_at, anchor),
        )  # fmt: skip
    if kind == RUN_UPDATED:
        _, run_id, changes = record  # a RawRunUpdated
        return RunUpdated(RUN_UPDATED, f"{run_id:032x}", _run_changes(changes, anchor))
    if isinstance(record, ArtifactAdded):
        return record  # made in wire form by the uploader thread
    (_, run_id, vendor, calls, errors, rate_limit_hits, input_tokens, output_tokens,
     cost) = record  # a RawVendorUsed  # fmt: skip
    return VendorUsed(
        VENDOR_USED, f"{run_id:032x}", text(vendor), _count(calls) or 0, _count(errors) or 0,
        _count(rate_limit_hits) or 0, _count(input_tokens) or 0, _count(output_tokens) or 0,
        _amount(cost) or 0.0,
    )  # fmt: skip


def prepare_instant(record: QueuedRecord, anchor: float) -> tuple[StepStarted, StepEnded]:
    """A STEP_INSTANT as the STEP_STARTED and STEP_ENDED wire records it stands for."""
    (_, step_id, run_id, parent_id, name, type_, input_, payload, model, vendor, started_at,
     status, output, input_tokens, output_tokens, cost, error,
     ended_at) = record  # a RawStepInstant  # fmt: skip
    step_hex, run_hex = step_id.to_bytes(16).hex(), run_id.to_bytes(16).hex()
    model, vendor = optional_text(model), optional_text(vendor)
    start = named(StepStarted, (
        STEP_STARTED, step_hex, run_hex, None if parent_id is None else as_hex(parent_id),
        text(name), str(type_), to_json(input_), to_json(payload), model, vendor,
        epoch(started_at, anchor),
    ))  # fmt: skip
    end = named(StepEnded, (
        STEP_ENDED, step_hex, run_hex, status, to_json(output), None, model, vendor,
        _count(input_tokens), _count(output_tokens), _amount(cost), *error_fields(error),
        epoch(ended_at, anchor), latency_ms(started_at, ended_at, anchor),
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
