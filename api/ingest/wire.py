"""The native ingest body into a `Batch`, checked record by record against the wire
records' own declarations (`recorder._records`), so that a malformed batch is refused with
a message (400) before it reaches the database and cannot fail anyone else's batch.

The body (`application/vnd.tracewire.batch+json`, gzip allowed) is what the recorder's
HTTP sink sends: `{"id": "<32 hex>", "records": [[kind, field, ...], ...], "health": {...}}`.
"""

import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

import orjson

from tracewire.api.request_body import BodyError
from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.db.models import RecorderHealth
from tracewire.recorder._columns import table_of
from tracewire.recorder._prepare import JSON_COLUMNS, RUN_COLUMNS, TEXT_COLUMNS, TIME_COLUMNS
from tracewire.recorder._records import (
    ARTIFACT_ADDED,
    RUN_UPDATED,
    WIRE_RECORDS,
    Batch,
    WireRecord,
    named,
)

MEDIA_TYPE = "application/vnd.tracewire.batch+json"
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_MAX_EPOCH = 253_402_300_799.0  # 9999-12-31
_ID_FIELDS = frozenset({"run_id", "step_id", "parent_id", "artifact_id"})
_ENUMS: dict[str, frozenset[str]] = {
    "type": frozenset(StepType),
}
_STATUSES = {"StepEnded": frozenset(StepStatus), "RunClosed": frozenset(RunStatus)}
_HEALTH_FIELDS: dict[str, type | tuple[type, ...]] = {
    "recorder_id": str,
    "host": str,
    "pid": int,
    "queued": int,
    "spooled_bytes": int,
    "dropped": int,
    "written_records": int,
    "failed_attempts": int,
    "last_batch_ms": (float, int, type(None)),
    "last_error": (str, type(None)),
}

# Every column of the sender's health row that the sender fills.
_HEALTH_COLUMNS = {
    c.name for c in table_of(RecorderHealth).c if c.server_default is None and c.name != "org_id"
}
if _HEALTH_FIELDS.keys() != _HEALTH_COLUMNS:
    raise LookupError(f"recorder_health's columns are not those checked: {_HEALTH_COLUMNS}")

Check = Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return (type(value) is float and math.isfinite(value)) or type(value) is int


def _is_time(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= _MAX_EPOCH


def _is_id(value: Any) -> bool:
    return type(value) is str and _HEX_ID.fullmatch(value) is not None


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_tags(value: Any) -> bool:
    return type(value) is list and all(type(tag) is str for tag in value)


def _is_changes(value: Any) -> bool:
    if type(value) is not dict:
        return False
    for column, change in value.items():
        if column not in RUN_COLUMNS:
            return False
        if change is None:
            continue
        if column in JSON_COLUMNS or column in TEXT_COLUMNS:
            ok = type(change) is str
        elif column in TIME_COLUMNS:
            ok = _is_time(change)
        else:
            ok = _is_tags(change)
        if not ok:
            return False
    return True


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _one_of(allowed: frozenset[str]) -> Check:
    return lambda value: value in allowed


def _check_for(record: str, name: str, annotation: Any) -> Check:
    """How a field of a wire record is checked, from its declared type and its name."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        (annotation,) = members
    if name in _ID_FIELDS:
        check: Check = _is_id
    elif name == "status":
        check = _one_of(_STATUSES[record])
    elif name in _ENUMS:
        check = _one_of(_ENUMS[name])
    elif name.endswith("_at"):
        check = _is_time
    elif annotation is str:
        check = _is_str
    elif annotation is int:
        check = _is_int
    elif annotation is float:
        check = _is_number
    elif typing.get_origin(annotation) is list:
        check = _is_tags
    elif typing.get_origin(annotation) is dict:
        check = _is_changes
    else:
        raise LookupError(f"no check for {record}.{name}: {annotation!r}")
    return _optional(check) if optional else check


def _checks() -> dict[int, tuple[type[WireRecord], tuple[tuple[str, Check], ...]]]:
    table = {}
    for kind, cls in WIRE_RECORDS.items():
        hints = typing.get_type_hints(cls)
        fields = [
            (name, _check_for(cls.__name__, name, hints[name]))
            for name in cls._fields
            if typing.get_origin(hints[name]) is not Literal  # the kind, checked already
        ]
        table[kind] = (cls, tuple(fields))
    return table


_CHECKS = _checks()


def decode_batch(raw: bytes, rewrite_key: Callable[[str], str]) -> Batch:
    """The batch in `raw` (JSON, decompressed), or `BodyError` 400 saying what is wrong.
    `rewrite_key` gives each artifact's storage key the caller's organization."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BodyError(400, f"malformed JSON body: {error}") from None
    if type(document) is not dict:
        raise BodyError(400, 'the body must be an object: {"id", "records", "health"}')
    batch_id = document.get("id")
    if not isinstance(batch_id, str) or not _is_id(batch_id):
        raise BodyError(400, "id must be 32 lowercase hex digits")
    values = document.get("records")
    if type(values) is not list or not values:
        raise BodyError(400, "records must be a non-empty list")
    records: list[WireRecord] = []
    append = records.append
    for index, record in enumerate(values):
        append(_record(index, record, rewrite_key))
    return Batch(batch_id, records, _health(document.get("health")))


def _record(index: int, values: Any, rewrite_key: Callable[[str], str]) -> WireRecord:
    if type(values) is not list or not values:
        raise BodyError(400, f"records[{index}] must be a list [kind, ...]")
    found = _CHECKS.get(values[0]) if type(values[0]) is int else None
    if found is None:
        raise BodyError(400, f"records[{index}]: unknown record kind {values[0]!r}")
    cls, checks = found
    if len(values) != len(checks) + 1:
        raise BodyError(
            400,
            f"records[{index}]: a {cls.__name__} has {len(checks) + 1} fields, not {len(values)}",
        )
    for (name, check), value in zip(checks, values[1:], strict=True):
        if not check(value):
            raise BodyError(400, f"records[{index}]: invalid {cls.__name__}.{name}: {value!r:.80}")
    if values[0] == ARTIFACT_ADDED:
        key_index = cls._fields.index("storage_key")
        values[key_index] = rewrite_key(values[key_index])
    elif values[0] == RUN_UPDATED and not values[2]:
        raise BodyError(400, f"records[{index}]: a RunUpdated without changes")
    record: WireRecord = named(cls, values)
    return record


def _health(value: Any) -> dict[str, Any] | None:
    """The sender's stats, kept when well-formed; a malformed one is dropped, not the batch."""
    if type(value) is not dict:
        return None
    for name, kind in _HEALTH_FIELDS.items():
        if not isinstance(value.get(name, ...), kind) or isinstance(value.get(name), bool):
            return None
    if not _is_id(value["recorder_id"]):
        return None
    return value
