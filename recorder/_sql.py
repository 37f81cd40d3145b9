"""The statements the Postgres sink runs inside a batch's transaction (besides COPY).

Those that store a record's fields name their columns by the record's field names, checked
against the models at import (`_columns`).
"""

import functools
import uuid
from typing import Any

import asyncpg

from tracewire.db.models import Artifact, RecorderHealth, Run, RunVendorUsage, Step
from tracewire.recorder import _columns
from tracewire.recorder._batch_plan import RunDelta
from tracewire.recorder._prepare import JSON_COLUMNS, RUN_COLUMNS, TEXT_COLUMNS, TIME_COLUMNS
from tracewire.recorder._records import (
    STEP_ENDED,
    STEP_STARTED,
    ArtifactAdded,
    RunClosed,
    RunOpened,
    RunUpdated,
    StepEnded,
    VendorUsed,
    WireRecord,
)


async def without_stored_steps(
    conn: asyncpg.Connection, records: list[WireRecord]
) -> list[WireRecord]:
    """The batch less the steps whose id is stored already or came earlier in the batch,
    each with the end that follows its start (a span sent twice is the same step twice)."""
    starts = [r.step_id for r in records if r.kind == STEP_STARTED]
    rows = await conn.fetch("SELECT id FROM steps WHERE id = ANY($1::uuid[])", starts)
    seen = {row["id"].hex for row in rows}
    dropped: dict[str, int] = {}
    kept: list[WireRecord] = []
    for record in records:
        if record.kind == STEP_STARTED:
            if record.step_id in seen:
                dropped[record.step_id] = dropped.get(record.step_id, 0) + 1
                continue
            seen.add(record.step_id)
        elif record.kind == STEP_ENDED and dropped.get(record.step_id):
            dropped[record.step_id] -= 1
            continue
        kept.append(record)
    return kept


async def ensure_org(conn: asyncpg.Connection, slug: str) -> uuid.UUID:
    org_id: uuid.UUID | None = await conn.fetchval(
        "INSERT INTO organizations (id, slug, name) VALUES ($1, $2, $2) "
        "ON CONFLICT (slug) DO NOTHING RETURNING id",
        uuid.uuid4(),
        slug,
    )
    if org_id is None:
        org_id = await conn.fetchval("SELECT id FROM organizations WHERE slug = $1", slug)
    assert org_id is not None
    return org_id


# The org's slug becomes its id; the status is the sink's.
_OPENED = _columns.fill(Run, RunOpened, renamed={"run_id": "id"}, ignored=("kind", "org"))
_INSERT_RUN = _columns.insert(Run, ("org_id", "status", *_OPENED.columns))


async def insert_runs(
    conn: asyncpg.Connection, opened: list[tuple[uuid.UUID, RunOpened]], status: str
) -> None:
    """Each run in the organization paired with it (the record's slug is not read here)."""
    if not opened:
        return
    values = _OPENED.values
    await conn.executemany(_INSERT_RUN, [(org_id, status, *values(r)) for org_id, r in opened])


_ALLOCATE_ONE = (
    "UPDATE runs SET last_step_seq = last_step_seq + $2, "
    "last_event_seq = last_event_seq + $3, step_count = step_count + $2, "
    "error_count = error_count + $4, input_tokens = input_tokens + $5, "
    "output_tokens = output_tokens + $6, cost = cost + $7, "
    "current_node = COALESCE($8, current_node), updated_at = now() "
    "WHERE id = $1 RETURNING id, last_step_seq, last_event_seq"
)
_ALLOCATE_MANY = (
    "UPDATE runs AS r SET last_step_seq = r.last_step_seq + d.steps, "
    "last_event_seq = r.last_event_seq + d.events, step_count = r.step_count + d.steps, "
    "error_count = r.error_count + d.errors, input_tokens = r.input_tokens + d.in_tok, "
    "output_tokens = r.output_tokens + d.out_tok, cost = r.cost + d.cost, "
    "current_node = COALESCE(d.node, r.current_node), updated_at = now() "
    "FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], "
    "$7::numeric[], $8::text[]) AS d(id, steps, events, errors, in_tok, out_tok, cost, node) "
    "WHERE r.id = d.id RETURNING r.id, r.last_step_seq, r.last_event_seq"
)


async def allocate(
    conn: asyncpg.Connection, deltas: dict[str, RunDelta]
) -> dict[str, tuple[int, int]]:
    """Take each run's row lock and its next seq numbers, and add the batch's counters.
    Gap-free because a rolled-back transaction gives its numbers back."""
    columns = [
        (
            run,
            len(d.new_steps),
            len(d.events),
            d.errors,
            d.input_tokens,
            d.output_tokens,
            round(d.cost, 8),
            d.current_node,
        )
        for run, d in deltas.items()
    ]
    if len(columns) == 1:
        (one,) = columns
        rows = [await conn.fetchrow(_ALLOCATE_ONE, *one)]
    else:
        # Lock in one global order first, so two writers never deadlock on their runs.
        await conn.execute(
            "SELECT 1 FROM runs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            list(deltas),
        )
        rows = await conn.fetch(_ALLOCATE_MANY, *map(list, zip(*columns, strict=True)))
    return {row["id"].hex: (row["last_step_seq"], row["last_event_seq"]) for row in rows}


# SKIP LOCKED: a run locked right now is being written by a batch, which refreshes it too;
# and a heartbeat never waits for, or deadlocks with, another writer.
HEARTBEAT = (
    "UPDATE runs SET updated_at = now() WHERE id IN (SELECT id FROM runs "
    "WHERE id = ANY($1::uuid[]) AND status = $2 ORDER BY id FOR UPDATE SKIP LOCKED)"
)


_ENDED = _columns.fill(Step, StepEnded, renamed={"step_id": "id"}, besides=("id", "run_id"))
_FINISH_STEP = _columns.update(
    Step,
    "id",
    _ENDED.columns,
    {
        "payload": "payload || COALESCE({}::jsonb, '{{}}')",
        "model": "COALESCE({}, model)",
        "vendor": "COALESCE({}, vendor)",
    },
)


async def finish_steps(conn: asyncpg.Connection, ended: list[StepEnded]) -> None:
    """Steps that started in an earlier batch and ended in this one."""
    values = _ENDED.values
    await conn.executemany(_FINISH_STEP, [(end.step_id, *values(end)) for end in ended])


def _check_run_columns() -> None:
    """The `runs` columns a RUN_UPDATED may set (`_prepare` prepares each by its kind) are
    columns of `runs`, of that kind."""
    columns = _columns.table_of(Run).c
    unknown = RUN_COLUMNS - set(columns.keys())
    if unknown:
        raise LookupError(f"runs has no columns {sorted(unknown)}")
    kinds = {"JSONB": JSON_COLUMNS, "TEXT": TEXT_COLUMNS, "TIMESTAMP": TIME_COLUMNS}
    for kind, names in kinds.items():
        for name in names:
            compiled = _columns.sql_type(columns[name])
            if not compiled.startswith(kind):
                raise LookupError(f"runs.{name} is {compiled}, prepared as {kind}")


_check_run_columns()


async def update_runs(conn: asyncpg.Connection, updates: list[RunUpdated]) -> None:
    """RUN_UPDATED records, in order: one statement per run of updates that set the same
    columns. Column names come from the record, so only those `_prepare` lets through are
    written (a spooled record from elsewhere gets no say)."""
    pending: list[tuple[Any, ...]] = []
    columns: tuple[str, ...] = ()
    for update in updates:
        changes = {k: v for k, v in update.changes.items() if k in RUN_COLUMNS}
        if not changes:
            continue
        these = tuple(sorted(changes))
        if these != columns and pending:
            await conn.executemany(_update_run(columns), pending)
            pending = []
        columns = these
        pending.append((update.run_id, *(changes[column] for column in columns)))
    if pending:
        await conn.executemany(_update_run(columns), pending)


@functools.cache
def _update_run(columns: tuple[str, ...]) -> str:
    return _columns.update(Run, "id", columns, _RUN_UPDATE_VALUE, also="updated_at = now()")


_RUN_UPDATE_VALUE = {
    # Merged, so trace metadata arriving over several requests adds up.
    "metadata": "metadata || COALESCE({}::jsonb, '{{}}')",
    "tags": "COALESCE({}::text[], '{{}}')",
}

_CLOSED = _columns.fill(Run, RunClosed, renamed={"run_id": "id"}, besides=("id",))
_CLOSE_RUN = _columns.update(Run, "id", _CLOSED.columns, {"output": "COALESCE({}::jsonb, output)"})


async def close_runs(conn: asyncpg.Connection, closes: list[RunClosed]) -> None:
    values = _CLOSED.values
    await conn.executemany(_CLOSE_RUN, [(close.run_id, *values(close)) for close in closes])


# Counted up: a run's usage of one vendor may arrive in many records.
_USED = _columns.fill(RunVendorUsage, VendorUsed)
_ADD_VENDOR_USAGE = _columns.insert(
    RunVendorUsage,
    ("org_id", *_USED.columns),
    then="DO UPDATE SET "
    + ", ".join(
        f"{c} = t.{c} + EXCLUDED.{c}"
        for c in _USED.columns
        if c not in _columns.table_of(RunVendorUsage).primary_key.columns
    ),
)


async def add_vendor_usage(
    conn: asyncpg.Connection, usages: list[tuple[uuid.UUID, VendorUsed]]
) -> None:
    """Each usage in the organization paired with it."""
    values = _USED.values
    await conn.executemany(_ADD_VENDOR_USAGE, [(org_id, *values(u)) for org_id, u in usages])


# Every column the recorder's health has (all but those the database fills), by name.
_HEALTH_COLUMNS = tuple(
    c.name
    for c in _columns.table_of(RecorderHealth).c
    if c.server_default is None and c.name != "org_id"
)
_RECORD_HEALTH = _columns.insert(
    RecorderHealth,
    ("org_id", *_HEALTH_COLUMNS),
    then="DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _HEALTH_COLUMNS if c != "recorder_id")
    + ", updated_at = now()",
)


async def record_health(
    conn: asyncpg.Connection, org_id: uuid.UUID, health: dict[str, Any]
) -> None:
    """The sending recorder's latest stats, one row per recorder (process)."""
    await conn.execute(_RECORD_HEALTH, org_id, *(health[c] for c in _HEALTH_COLUMNS))


_ADDED = _columns.fill(Artifact, ArtifactAdded, renamed={"artifact_id": "id"})
_INSERT_ARTIFACT = _columns.insert(Artifact, ("org_id", *_ADDED.columns))


async def insert_artifacts(
    conn: asyncpg.Connection, artifacts: list[tuple[uuid.UUID, ArtifactAdded]]
) -> None:
    """Artifacts whose objects are stored already (the uploader queues them only then),
    each in its run's organization, paired with it."""
    values = _ADDED.values
    await conn.executemany(_INSERT_ARTIFACT, [(org_id, *values(a)) for org_id, a in artifacts])
