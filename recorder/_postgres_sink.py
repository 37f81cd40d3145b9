"""Writes recorder batches into Postgres: one transaction per batch, seq allocated inside
it, binary COPY for new rows, the sender's ingestion health, and one NOTIFY carrying ids
and seq ranges.

Runs in the writer thread on a private event loop, so asyncpg never meets the agent's loop.
"""

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg

from tracewire.db import wakeups
from tracewire.db.engine import driver_dsn
from tracewire.db.enums import RunStatus
from tracewire.recorder import _sql
from tracewire.recorder._batch_plan import EVENT_COLUMNS, STEP_COLUMNS, RunDelta, plan
from tracewire.recorder._records import RUN_OPENED, Batch, RunOpened
from tracewire.recorder.settings import redact_url

_CONNECT_TIMEOUT_S = 5.0
# Bounds a writer stuck on a hung server, so close() and the spool can still happen.
_COMMAND_TIMEOUT_S = 30.0
_PG_EPOCH = 946_684_800.0  # 2000-01-01 UTC, where Postgres timestamps count from

_STEPS_KEY = "pk_steps"


def _encode_timestamp(epoch: float) -> tuple[int]:
    # Wire records carry epoch seconds; this skips building a datetime per row.
    return (round((epoch - _PG_EPOCH) * 1_000_000),)


def _decode_timestamp(value: tuple[int]) -> float:
    return value[0] / 1_000_000 + _PG_EPOCH


class PostgresSink:
    """Writes batches into Postgres. With `notify_url` (a Redis URL) the wake-up payloads go
    to Redis pub/sub after each commit instead of NOTIFY inside the transaction."""

    def __init__(self, database_url: str, notify_url: str | None = None) -> None:
        self._dsn = driver_dsn(database_url)
        self.destination = redact_url(database_url)
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = None
        self._org_ids: dict[str, uuid.UUID] = {}
        self._run_orgs: dict[str, uuid.UUID] = {}
        self._wakeups = wakeups.publisher_for(notify_url)

    def write(self, batch: Batch) -> None:
        self._loop.run_until_complete(self._write(batch))

    def heartbeat(self, run_ids: list[str]) -> None:
        """Mark open runs (hex ids) as alive: `runs.updated_at = now()`. A run locked by a
        batch in flight is skipped; that batch refreshes it."""
        self._loop.run_until_complete(self._heartbeat(run_ids))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # nothing left to tell anyone
            self._loop.run_until_complete(self._wakeups.close())
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                self._loop.run_until_complete(conn.close(timeout=2))
            except Exception:
                conn.terminate()
        self._loop.close()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn = await asyncpg.connect(
                self._dsn, timeout=_CONNECT_TIMEOUT_S, command_timeout=_COMMAND_TIMEOUT_S
            )
            await conn.set_type_codec(
                "timestamptz",
                schema="pg_catalog",
                encoder=_encode_timestamp,
                decoder=_decode_timestamp,
                format="tuple",
            )
            self._conn = conn
        return self._conn

    async def _write(self, batch: Batch) -> None:
        conn = await self._connection()
        try:
            try:
                await self._write_on(conn, batch)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != _STEPS_KEY:
                    raise
                # A step id that is already stored: given by the caller (a span sent twice
                # over OTLP), not made here. Retrying the batch as it is would fail forever.
                records = await _sql.without_stored_steps(conn, batch.records)
                await self._write_on(conn, batch._replace(records=records))
        except BaseException:
            # The connection may be mid-transaction or broken: start clean next time.
            self._conn = None
            conn.terminate()
            raise

    async def _heartbeat(self, run_ids: list[str]) -> None:
        conn = await self._connection()
        try:
            await conn.execute(_sql.HEARTBEAT, run_ids, RunStatus.RUNNING.value)
        except BaseException:
            self._conn = None
            conn.terminate()
            raise

    async def _write_on(self, conn: asyncpg.Connection, batch: Batch) -> None:
        records = batch.records
        opened = [r for r in records if r.kind == RUN_OPENED]
        health = batch.health
        slugs = {r.org for r in opened} | ({health["org"]} if health else set())
        for slug in slugs - self._org_ids.keys():
            self._org_ids[slug] = await _sql.ensure_org(conn, slug)
        deltas = plan(records)

        async with conn.transaction():
            first_time = await conn.fetchval(
                "INSERT INTO ingested_batches (id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING true",
                batch.id,
            )
            if not first_time:
                return  # committed before; its acknowledgement was lost
            await _sql.insert_runs(conn, opened, self._org_ids, RunStatus.RUNNING.value)
            run_orgs = await self._orgs_of(conn, deltas.keys(), opened)
            seqs = await _sql.allocate(conn, deltas)
            step_rows: list[tuple[Any, ...]] = []
            event_rows: list[tuple[Any, ...]] = []
            ranges: list[list[Any]] = []
            for run_id, delta in deltas.items():
                org_id = run_orgs[run_id]
                last_step, last_event = seqs[run_id]
                step_rows += delta.step_rows(org_id, last_step - len(delta.new_steps) + 1)
                event_rows += delta.event_rows(run_id, org_id, last_event - len(delta.events) + 1)
                if delta.events:
                    first = last_event - len(delta.events) + 1
                    ranges.append([str(org_id), str(uuid.UUID(run_id)), first, last_event])
                await _apply_rest(conn, org_id, delta)
            if step_rows:
                await conn.copy_records_to_table("steps", records=step_rows, columns=STEP_COLUMNS)
            if event_rows:
                await conn.copy_records_to_table(
                    "run_events", records=event_rows, columns=EVENT_COLUMNS
                )
            if health is not None:
                await _sql.record_health(conn, self._org_ids[health["org"]], health)
            announced = await self._wakeups.announce(wakeups.AsyncpgTransaction(conn), ranges)
        self._run_orgs.update(run_orgs)
        await announced.after_commit()

    async def _orgs_of(
        self, conn: asyncpg.Connection, run_ids: Any, opened: list[RunOpened]
    ) -> dict[str, uuid.UUID]:
        run_orgs = {r.run_id: self._org_ids[r.org] for r in opened}
        known = self._run_orgs
        unknown = [run for run in run_ids if run not in run_orgs and run not in known]
        if unknown:
            rows = await conn.fetch("SELECT id, org_id FROM runs WHERE id = ANY($1)", unknown)
            run_orgs.update({row["id"].hex: row["org_id"] for row in rows})
            missing = set(unknown) - run_orgs.keys()
            if missing:
                # Another process may not have committed the run yet: the writer retries.
                raise LookupError(f"runs not found (not opened yet?): {sorted(missing)}")
        for run in run_ids:
            if run not in run_orgs:
                run_orgs[run] = known[run]
        return run_orgs


async def _apply_rest(conn: asyncpg.Connection, org_id: uuid.UUID, delta: RunDelta) -> None:
    if delta.ended_steps:
        await _sql.finish_steps(conn, delta.ended_steps)
    if delta.updates:
        await _sql.update_runs(conn, delta.updates)
    if delta.closes:
        await _sql.close_runs(conn, delta.closes)
    if delta.vendor:
        await _sql.add_vendor_usage(conn, org_id, delta.vendor)
    if delta.artifacts:
        await _sql.insert_artifacts(conn, org_id, delta.artifacts)
