"""The statements the Postgres sink runs inside a batch's transaction (besides COPY)."""

import uuid
from typing import Any

import asyncpg

from tracewire.recorder._batch_plan import RunDelta
from tracewire.recorder._prepare import RUN_COLUMNS
from tracewire.recorder._records import STEP_ENDED, STEP_STARTED, Record


async def without_stored_steps(conn: asyncpg.Connection, records: list[Record]) -> list[Record]:
    """The batch less the steps whose id is stored already or came earlier in the batch,
    each with the end that follows its start (a span sent twice is the same step twice)."""
    starts = [r[1] for r in records if r[0] == STEP_STARTED]
    rows = await conn.fetch("SELECT id FROM steps WHERE id = ANY($1::uuid[])", starts)
    seen = {row["id"].hex for row in rows}
    dropped: dict[str, int] = {}
    kept: list[Record] = []
    for record in records:
        kind = record[0]
        if kind == STEP_STARTED:
            if record[1] in seen:
                dropped[record[1]] = dropped.get(record[1], 0) + 1
                continue
            seen.add(record[1])
        elif kind == STEP_ENDED and dropped.get(record[1]):
            dropped[record[1]] -= 1
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


async def insert_runs(
    conn: asyncpg.Connection, opened: list[Record], org_ids: dict[str, uuid.UUID], status: str
) -> None:
    if not opened:
        return
    await conn.executemany(
        "INSERT INTO runs (id, org_id, agent, status, user_id, conversation_id, input, "
        "metadata, tags, started_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, COALESCE($8::jsonb, '{}'), "
        "COALESCE($9::text[], '{}'), $10) ON CONFLICT (id) DO NOTHING",
        [(r[1], org_ids[r[2]], r[3], status, *r[4:10]) for r in opened],
    )


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
        rows = [await conn.fetchrow(_ALLOCATE_ONE, *columns[0])]
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


async def finish_steps(conn: asyncpg.Connection, ended: list[Record]) -> None:
    """Steps that started in an earlier batch and ended in this one."""
    await conn.executemany(
        "UPDATE steps SET status = $2, output = $3::jsonb, "
        "payload = payload || COALESCE($4::jsonb, '{}'), "
        "model = COALESCE($5, model), vendor = COALESCE($6, vendor), "
        "input_tokens = $7, output_tokens = $8, cost = $9, "
        "error_code = $10, error_message = $11, error_traceback = $12, "
        "ended_at = $13, latency_ms = $14 WHERE id = $1",
        [(end[1], *end[3:16]) for end in ended],
    )


async def update_runs(conn: asyncpg.Connection, updates: list[Record]) -> None:
    """RUN_UPDATED records, in order. Column names come from the record, so only those
    `_prepare` lets through are written (a spooled record from elsewhere gets no say)."""
    for update in updates:
        changes = {k: v for k, v in update[2].items() if k in RUN_COLUMNS}
        if not changes:
            continue
        columns = sorted(changes)
        assignments = ", ".join(
            f"{column} = {_RUN_UPDATE_VALUE.get(column, '${}').format(i)}"
            for i, column in enumerate(columns, start=2)
        )
        await conn.execute(
            f"UPDATE runs SET {assignments}, updated_at = now() WHERE id = $1",
            update[1],
            *(changes[column] for column in columns),
        )


_RUN_UPDATE_VALUE = {
    "input": "${}::jsonb",
    "output": "${}::jsonb",
    # Merged, so trace metadata arriving over several requests adds up.
    "metadata": "metadata || COALESCE(${}::jsonb, '{{}}')",
    "tags": "COALESCE(${}::text[], '{{}}')",
}


async def close_runs(conn: asyncpg.Connection, closes: list[Record]) -> None:
    await conn.executemany(
        "UPDATE runs SET status = $2, output = COALESCE($3::jsonb, output), "
        "error_code = $4, error_message = $5, finished_at = $6 WHERE id = $1",
        [tuple(close[1:7]) for close in closes],
    )


async def add_vendor_usage(
    conn: asyncpg.Connection, org_id: uuid.UUID, usages: list[Record]
) -> None:
    await conn.executemany(
        "INSERT INTO run_vendor_usage AS u (run_id, vendor, org_id, calls, errors, "
        "rate_limit_hits, input_tokens, output_tokens, cost) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id, vendor) DO UPDATE SET "
        "calls = u.calls + EXCLUDED.calls, errors = u.errors + EXCLUDED.errors, "
        "rate_limit_hits = u.rate_limit_hits + EXCLUDED.rate_limit_hits, "
        "input_tokens = u.input_tokens + EXCLUDED.input_tokens, "
        "output_tokens = u.output_tokens + EXCLUDED.output_tokens, cost = u.cost + EXCLUDED.cost",
        [(u[1], u[2], org_id, *u[3:9]) for u in usages],
    )


async def record_health(
    conn: asyncpg.Connection, org_id: uuid.UUID, health: dict[str, Any]
) -> None:
    """The sending recorder's latest stats, one row per recorder (process)."""
    await conn.execute(
        "INSERT INTO recorder_health AS h (recorder_id, org_id, host, pid, queued, "
        "spooled_bytes, dropped, written_records, failed_attempts, last_batch_ms, last_error) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (recorder_id) DO UPDATE SET queued = EXCLUDED.queued, "
        "spooled_bytes = EXCLUDED.spooled_bytes, dropped = EXCLUDED.dropped, "
        "written_records = EXCLUDED.written_records, "
        "failed_attempts = EXCLUDED.failed_attempts, last_batch_ms = EXCLUDED.last_batch_ms, "
        "last_error = EXCLUDED.last_error, updated_at = now()",
        health["recorder_id"],
        org_id,
        health["host"],
        health["pid"],
        health["queued"],
        health["spooled_bytes"],
        health["dropped"],
        health["written_records"],
        health["failed_attempts"],
        health["last_batch_ms"],
        health["last_error"],
    )


async def insert_artifacts(
    conn: asyncpg.Connection, org_id: uuid.UUID, artifacts: list[Record]
) -> None:
    """Artifacts whose objects are stored already (the uploader queues them only then), in
    the run's org."""
    await conn.executemany(
        "INSERT INTO artifacts (id, org_id, run_id, step_id, role, name, storage_key, "
        "mime_type, size_bytes, sha256, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
        [(a[1], org_id, *a[2:11]) for a in artifacts],
    )
