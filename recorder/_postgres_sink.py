"""Writes recorder batches into Postgres: one transaction per batch, seq allocated inside
it, binary COPY for new rows, and one NOTIFY carrying ids and seq ranges.

Runs in the writer thread on a private event loop, so asyncpg never meets the agent's loop.
"""

import asyncio
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from db.engine import driver_dsn
from db.enums import EventKind, RunStatus, StepStatus, StepType
from recorder._records import (
    Batch,
    Record,
    RunClosed,
    RunOpened,
    StepEnded,
    StepError,
    StepStarted,
    Usage,
    VendorUsed,
)
from recorder._serialize import to_json

NOTIFY_CHANNEL = "tracewire_events"
# Postgres refuses NOTIFY payloads of 8000 bytes or more; stay well below.
_NOTIFY_MAX_BYTES = 7000
_MAX_ERROR_MESSAGE = 8000

_STEP_COLUMNS = (
    "id", "org_id", "run_id", "seq", "parent_id", "name", "type", "status", "input",
    "output", "payload", "started_at", "ended_at", "latency_ms", "model", "vendor",
    "input_tokens", "output_tokens", "cost", "error_code", "error_message", "error_traceback",
)  # fmt: skip
_EVENT_COLUMNS = ("run_id", "seq", "org_id", "kind", "step_id", "data")


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _error_fields(error: StepError) -> tuple[str | None, str | None, str | None]:
    if error is None:
        return None, None, None
    exc, code, tb = error
    if isinstance(exc, BaseException):
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        return code or type(exc).__name__, str(exc)[:_MAX_ERROR_MESSAGE], text
    return code or "error", exc[:_MAX_ERROR_MESSAGE], None


@dataclass(slots=True)
class _StepRow:
    """A step as it will be inserted (start and, if seen in the same batch, its end)."""

    start: StepStarted
    end: StepEnded | None = None


@dataclass(slots=True)
class _RunDelta:
    """What one batch changes on one run; applied with one UPDATE under the row lock."""

    new_steps: list[_StepRow] = field(default_factory=list)
    ended_steps: list[StepEnded] = field(default_factory=list)  # started in an earlier batch
    events: list[tuple[str, uuid.UUID | None, dict[str, Any]]] = field(default_factory=list)
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    current_node: str | None = None
    closes: list[RunClosed] = field(default_factory=list)
    vendor: list[VendorUsed] = field(default_factory=list)

    def count_end(self, end: StepEnded) -> None:
        if end.status == StepStatus.FAILED:
            self.errors += 1
        if end.usage is not None:
            self.input_tokens += end.usage.input_tokens or 0
            self.output_tokens += end.usage.output_tokens or 0
            self.cost += Decimal(str(end.usage.cost or 0))


class PostgresSink:
    def __init__(self, database_url: str) -> None:
        self._dsn = driver_dsn(database_url)
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = None
        self._org_ids: dict[str, uuid.UUID] = {}
        self._run_orgs: dict[uuid.UUID, uuid.UUID] = {}

    def write(self, batch: Batch) -> None:
        self._loop.run_until_complete(self._write(batch))

    def close(self) -> None:
        if self._conn is not None:
            self._loop.run_until_complete(self._conn.close(timeout=2))
            self._conn = None
        self._loop.close()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn, timeout=10)
        return self._conn

    async def _write(self, batch: Batch) -> None:
        conn = await self._connection()
        try:
            await self._write_on(conn, batch)
        except BaseException:
            # The connection may be mid-transaction or broken: start clean next time.
            self._conn = None
            conn.terminate()
            raise

    async def _write_on(self, conn: asyncpg.Connection, batch: Batch) -> None:
        opened = [r for r in batch.records if isinstance(r, RunOpened)]
        for slug in {r.org for r in opened} - self._org_ids.keys():
            self._org_ids[slug] = await _ensure_org(conn, slug)

        async with conn.transaction():
            first_time = await conn.fetchval(
                "INSERT INTO ingested_batches (id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING true",
                batch.id,
            )
            if not first_time:
                return  # committed before; its acknowledgement was lost
            await _insert_runs(conn, opened, self._org_ids)
            run_orgs = await self._orgs_of(conn, batch.records, opened)
            deltas = _group_by_run(batch.records)
            ranges: list[tuple[uuid.UUID, uuid.UUID, int, int]] = []
            step_rows: list[tuple[Any, ...]] = []
            event_rows: list[tuple[Any, ...]] = []
            # Lock runs in one global order so two writers never deadlock.
            for run_id in sorted(deltas):
                delta = deltas[run_id]
                org_id = run_orgs[run_id]
                last_step, last_event = await _allocate(conn, run_id, delta)
                first_step = last_step - len(delta.new_steps) + 1
                for offset, row in enumerate(delta.new_steps):
                    step_rows.append(_step_row(row, org_id, first_step + offset))
                first_event = last_event - len(delta.events) + 1
                for offset, (kind, step_id, data) in enumerate(delta.events):
                    event_rows.append(
                        (run_id, first_event + offset, org_id, kind, step_id, to_json(data))
                    )
                if delta.events:
                    ranges.append((org_id, run_id, first_event, last_event))
                await _finish_steps(conn, delta.ended_steps)
                await _close_runs(conn, delta.closes)
                await _add_vendor_usage(conn, org_id, delta.vendor)
            if step_rows:
                await conn.copy_records_to_table("steps", records=step_rows, columns=_STEP_COLUMNS)
            if event_rows:
                await conn.copy_records_to_table(
                    "run_events", records=event_rows, columns=_EVENT_COLUMNS
                )
            for payload in _notify_payloads(ranges):
                await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, payload)
        self._run_orgs.update(run_orgs)

    async def _orgs_of(
        self, conn: asyncpg.Connection, records: list[Record], opened: list[RunOpened]
    ) -> dict[uuid.UUID, uuid.UUID]:
        run_orgs = {r.run_id: self._org_ids[r.org] for r in opened}
        unknown = {r.run_id for r in records} - run_orgs.keys() - self._run_orgs.keys()
        if unknown:
            rows = await conn.fetch("SELECT id, org_id FROM runs WHERE id = ANY($1)", unknown)
            run_orgs.update({row["id"]: row["org_id"] for row in rows})
            missing = unknown - run_orgs.keys()
            if missing:
                # Another process may not have committed the run yet: the writer retries.
                raise LookupError(f"runs not found (not opened yet?): {sorted(map(str, missing))}")
        for run_id in {r.run_id for r in records} - run_orgs.keys():
            run_orgs[run_id] = self._run_orgs[run_id]
        return run_orgs


async def _ensure_org(conn: asyncpg.Connection, slug: str) -> uuid.UUID:
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


async def _insert_runs(
    conn: asyncpg.Connection, opened: list[RunOpened], org_ids: dict[str, uuid.UUID]
) -> None:
    if not opened:
        return
    await conn.executemany(
        "INSERT INTO runs (id, org_id, agent, status, user_id, conversation_id, input, "
        "metadata, tags, started_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, COALESCE($8::jsonb, '{}'), "
        "COALESCE($9::text[], '{}'), $10) ON CONFLICT (id) DO NOTHING",
        [
            (
                r.run_id,
                org_ids[r.org],
                r.agent,
                RunStatus.RUNNING.value,
                r.user_id,
                r.conversation_id,
                to_json(r.input),
                to_json(r.metadata),
                r.tags,
                _ts(r.started_at),
            )
            for r in opened
        ],
    )


def _group_by_run(records: Iterable[Record]) -> dict[uuid.UUID, _RunDelta]:
    deltas: dict[uuid.UUID, _RunDelta] = {}
    pending: dict[uuid.UUID, _StepRow] = {}
    for record in records:
        delta = deltas.setdefault(record.run_id, _RunDelta())
        if isinstance(record, RunOpened):
            delta.events.append((EventKind.RUN_CREATED, None, {"status": RunStatus.RUNNING}))
        elif isinstance(record, StepStarted):
            row = _StepRow(record)
            pending[record.step_id] = row
            delta.new_steps.append(row)
            delta.events.append((EventKind.STEP_STARTED, record.step_id, {}))
            if record.type == StepType.NODE:
                delta.current_node = record.name
        elif isinstance(record, StepEnded):
            row_or_none = pending.get(record.step_id)
            if row_or_none is not None:
                row_or_none.end = record
            else:
                delta.ended_steps.append(record)
            delta.count_end(record)
            delta.events.append(
                (EventKind.STEP_FINISHED, record.step_id, {"status": record.status})
            )
        elif isinstance(record, RunClosed):
            delta.closes.append(record)
            delta.events.append((EventKind.RUN_STATUS_CHANGED, None, {"status": record.status}))
        else:
            delta.vendor.append(record)
    return deltas


async def _allocate(
    conn: asyncpg.Connection, run_id: uuid.UUID, delta: _RunDelta
) -> tuple[int, int]:
    """Take the run's row lock and the next seq numbers; gap-free because a rolled-back
    transaction gives its numbers back."""
    row = await conn.fetchrow(
        "UPDATE runs SET last_step_seq = last_step_seq + $2, "
        "last_event_seq = last_event_seq + $3, step_count = step_count + $2, "
        "error_count = error_count + $4, input_tokens = input_tokens + $5, "
        "output_tokens = output_tokens + $6, cost = cost + $7, "
        "current_node = COALESCE($8, current_node), updated_at = now() "
        "WHERE id = $1 RETURNING last_step_seq, last_event_seq",
        run_id,
        len(delta.new_steps),
        len(delta.events),
        delta.errors,
        delta.input_tokens,
        delta.output_tokens,
        delta.cost,
        delta.current_node,
    )
    return row["last_step_seq"], row["last_event_seq"]


def _step_row(row: _StepRow, org_id: uuid.UUID, seq: int) -> tuple[Any, ...]:
    start, end = row.start, row.end
    payload = dict(start.payload or {})
    if end is not None and end.payload:
        payload.update(end.payload)
    usage = end.usage if end is not None else None
    code, message, trace = _error_fields(end.error if end is not None else None)
    return (
        start.step_id,
        org_id,
        start.run_id,
        seq,
        start.parent_id,
        start.name,
        start.type,
        end.status if end is not None else StepStatus.RUNNING.value,
        to_json(start.input),
        to_json(end.output) if end is not None else None,
        to_json(payload) or "{}",
        _ts(start.started_at),
        _ts(end.ended_at) if end is not None else None,
        end.latency_ms if end is not None else None,
        (end.model if end is not None and end.model else None) or start.model,
        (end.vendor if end is not None and end.vendor else None) or start.vendor,
        *_usage_columns(usage),
        code,
        message,
        trace,
    )


def _usage_columns(usage: Usage | None) -> tuple[int | None, int | None, Decimal | None]:
    if usage is None:
        return None, None, None
    cost = Decimal(str(usage.cost)) if usage.cost is not None else None
    return usage.input_tokens, usage.output_tokens, cost


async def _finish_steps(conn: asyncpg.Connection, ended: list[StepEnded]) -> None:
    if not ended:
        return
    rows = []
    for end in ended:
        code, message, trace = _error_fields(end.error)
        rows.append(
            (
                end.step_id,
                end.status,
                to_json(end.output),
                to_json(end.payload),
                _ts(end.ended_at),
                end.latency_ms,
                end.model,
                end.vendor,
                *_usage_columns(end.usage),
                code,
                message,
                trace,
            )
        )
    await conn.executemany(
        "UPDATE steps SET status = $2, output = $3::jsonb, "
        "payload = payload || COALESCE($4::jsonb, '{}'), ended_at = $5, latency_ms = $6, "
        "model = COALESCE($7, model), vendor = COALESCE($8, vendor), "
        "input_tokens = $9, output_tokens = $10, cost = $11, "
        "error_code = $12, error_message = $13, error_traceback = $14 WHERE id = $1",
        rows,
    )


async def _close_runs(conn: asyncpg.Connection, closes: list[RunClosed]) -> None:
    for close in closes:
        await conn.execute(
            "UPDATE runs SET status = $2, output = COALESCE($3::jsonb, output), "
            "error_code = $4, error_message = $5, finished_at = $6 WHERE id = $1",
            close.run_id,
            close.status,
            to_json(close.output),
            close.error_code,
            close.error_message[:_MAX_ERROR_MESSAGE] if close.error_message else None,
            _ts(close.finished_at),
        )


async def _add_vendor_usage(
    conn: asyncpg.Connection, org_id: uuid.UUID, usages: list[VendorUsed]
) -> None:
    if not usages:
        return
    await conn.executemany(
        "INSERT INTO run_vendor_usage AS u (run_id, vendor, org_id, calls, errors, "
        "rate_limit_hits, input_tokens, output_tokens, cost) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id, vendor) DO UPDATE SET "
        "calls = u.calls + EXCLUDED.calls, errors = u.errors + EXCLUDED.errors, "
        "rate_limit_hits = u.rate_limit_hits + EXCLUDED.rate_limit_hits, "
        "input_tokens = u.input_tokens + EXCLUDED.input_tokens, "
        "output_tokens = u.output_tokens + EXCLUDED.output_tokens, cost = u.cost + EXCLUDED.cost",
        [
            (
                u.run_id,
                u.vendor,
                org_id,
                u.calls,
                u.errors,
                u.rate_limit_hits,
                u.input_tokens,
                u.output_tokens,
                Decimal(str(u.cost)),
            )
            for u in usages
        ],
    )


def _notify_payloads(ranges: list[tuple[uuid.UUID, uuid.UUID, int, int]]) -> list[str]:
    """`{"runs": [[org, run, first_seq, last_seq], ...]}` split to stay under the limit."""
    payloads: list[str] = []
    chunk: list[list[Any]] = []
    size = 0
    for org_id, run_id, first, last in ranges:
        entry = [str(org_id), str(run_id), first, last]
        entry_size = len(orjson.dumps(entry)) + 1
        if chunk and size + entry_size > _NOTIFY_MAX_BYTES:
            payloads.append(orjson.dumps({"runs": chunk}).decode())
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        payloads.append(orjson.dumps({"runs": chunk}).decode())
    return payloads
