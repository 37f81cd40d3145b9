"""The native ingest body into a `Batch`, checked record by record against the wire
records' own declarations (`recorder._records`), so that a malformed batch is refused with
a message (400) before it reaches the database and cannot fail anyone else's batch.

The body (`application/vnd.tracewire.batch+json`, gzip allowed) is what the recorder's
HTTP sink sends: `{"id": "<32 hex>", "records": [[kind, field, ...], ...], "health": {...}}`.

msgspec decodes and checks it in one pass, in C, against a struct per record kind that is
derived from the record's NamedTuple here (ids as 32 lowercase hex digits, statuses and
step types from their enums, times as epoch seconds, the rest by their declared types):
the recorder's records have one home, and a server takes them at a few hundred ns each.
"""

import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

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
from tracewire.storage.media import checked_media_type

MEDIA_TYPE = "application/vnd.tracewire.batch+json"
_MAX_EPOCH = 253_402_300_799.0  # 9999-12-31
_ID_FIELDS = frozenset({"run_id", "step_id", "parent_id", "artifact_id"})

# 32 characters, checked here in C; that they are lowercase hex is checked below for the
# ids Python compares (batch and run ids), and by Postgres's uuid type for the rest (a
# batch that fails there fails alone, refused: `service`). A pattern would cost 4x more.
HexId = Annotated[str, msgspec.Meta(min_length=32, max_length=32)]
_HEX = "0123456789abcdef"
Epoch = Annotated[float, msgspec.Meta(ge=0, le=_MAX_EPOCH)]
_STATUSES: dict[str, Any] = {
    "StepEnded": Literal[tuple(s.value for s in StepStatus)],
    "RunClosed": Literal[tuple(s.value for s in RunStatus)],
}
_STEP_TYPE: Any = Literal[tuple(t.value for t in StepType)]

# The sender's health row: every column the sender fills, by its Python type.
_HEALTH_TYPES: dict[str, Any] = {
    "recorder_id": HexId,
    "host": str,
    "pid": int,
    "queued": int,
    "spooled_bytes": int,
    "dropped": int,
    "written_records": int,
    "failed_attempts": int,
    "last_batch_ms": float | None,
    "last_error": str | None,
}
_HEALTH_COLUMNS = {
    c.name for c in table_of(RecorderHealth).c if c.server_default is None and c.name != "org_id"
}
if _HEALTH_TYPES.keys() != _HEALTH_COLUMNS:
    raise LookupError(f"recorder_health's columns are not those checked: {_HEALTH_COLUMNS}")
_Health = msgspec.defstruct("Health", list(_HEALTH_TYPES.items()), forbid_unknown_fields=False)


def _field_type(record: str, name: str, annotation: Any) -> Any:
    """What msgspec checks a wire record's field against: its declared type, narrowed by
    what its name says (an id, a status, a step type, a time)."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        (annotation,) = members
    if name in _ID_FIELDS:
        checked: Any = HexId
    elif name == "status":
        checked = _STATUSES[record]
    elif name == "type":
        checked = _STEP_TYPE
    elif name.endswith("_at"):
        checked = Epoch
    elif annotation in (str, int, float) or typing.get_origin(annotation) in (list, dict):
        checked = annotation
    else:
        raise LookupError(f"no check for {record}.{name}: {annotation!r}")
    return checked | None if optional else checked


def _structs() -> dict[int, tuple[type[WireRecord], type[msgspec.Struct], int]]:
    """Per kind: the wire record, its struct (an array `[kind, field...]`), and where its
    run id is."""
    table = {}
    for kind, cls in WIRE_RECORDS.items():
        hints = typing.get_type_hints(cls)
        fields = [
            (name, _field_type(cls.__name__, name, hints[name]))
            for name in cls._fields
            if typing.get_origin(hints[name]) is not Literal  # the kind: the struct's tag
        ]
        struct = msgspec.defstruct(
            cls.__name__, fields, array_like=True, tag=kind, tag_field="kind", frozen=True, gc=False
        )
        table[kind] = (cls, struct, cls._fields.index("run_id"))
    return table


_STRUCTS = _structs()
# By struct: the kind, the wire record, and where (less the kind) its run id is.
_BY_STRUCT = {struct: (kind, cls, run_at - 1) for kind, (cls, struct, run_at) in _STRUCTS.items()}
_RECORD: Any = typing.Union[tuple(struct for _, struct, _ in _STRUCTS.values())]  # noqa: UP007
_Document = msgspec.defstruct(
    "Batch",
    [
        ("id", HexId),
        ("records", Annotated[list[_RECORD], msgspec.Meta(min_length=1)]),
        ("health", Any, None),
    ],
)
_DECODER = msgspec.json.Decoder(_Document)
_HEALTH_DECODER = msgspec.convert


def decode_batch(raw: bytes, rewrite_key: Callable[[str], str]) -> Batch:
    """The batch in `raw` (JSON, decompressed), or `BodyError` 400 saying what is wrong.
    `rewrite_key` gives each artifact's storage key the caller's organization."""
    try:
        document: Any = _DECODER.decode(raw)
    except msgspec.ValidationError as error:
        raise BodyError(400, f"invalid batch: {error}") from None
    except msgspec.DecodeError as error:
        raise BodyError(400, f"malformed JSON body: {error}") from None
    if document.id.strip(_HEX):
        raise BodyError(400, "invalid batch: id must be 32 lowercase hex digits")
    records: list[WireRecord] = []
    append = records.append
    astuple = msgspec.structs.astuple
    by_struct = _BY_STRUCT
    for struct in document.records:  # per record: kept to the minimum
        kind, cls, run_at = by_struct[type(struct)]
        values = astuple(struct)
        if values[run_at].strip(_HEX):
            raise BodyError(400, f"invalid batch: run_id {values[run_at]!r:.40} is not hex")
        append(named(cls, (kind, *values)))
    for index, record in enumerate(records):
        if record.kind == ARTIFACT_ADDED:
            records[index] = record._replace(
                storage_key=rewrite_key(record.storage_key),
                mime_type=checked_media_type(record.mime_type),
            )
        elif record.kind == RUN_UPDATED:
            _check_changes(index, record.changes)
    return Batch(document.id, records, _health(document.health))


def _check_changes(index: int, changes: dict[str, Any]) -> None:
    """A RUN_UPDATED's changes: columns a run update may set, each of its kind."""
    if not changes:
        raise BodyError(400, f"records[{index}]: a RunUpdated without changes")
    for column, change in changes.items():
        if column not in RUN_COLUMNS:
            raise BodyError(400, f"records[{index}]: a run has no column {column!r:.40}")
        if change is None:
            continue
        if column in JSON_COLUMNS or column in TEXT_COLUMNS:
            ok = type(change) is str
        elif column in TIME_COLUMNS:
            ok = type(change) in (int, float) and 0 <= change <= _MAX_EPOCH
        else:
            ok = type(change) is list and all(type(tag) is str for tag in change)
        if not ok:
            raise BodyError(400, f"records[{index}]: invalid {column}: {change!r:.80}")


def _health(value: Any) -> dict[str, Any] | None:
    """The sender's stats, kept when well-formed; a malformed one is dropped, not the batch."""
    if type(value) is not dict:
        return None
    try:
        _HEALTH_DECODER(value, _Health)
    except msgspec.ValidationError:
        return None
    return value
