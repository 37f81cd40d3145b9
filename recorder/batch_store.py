"""Commits batches of wire records into Postgres: one transaction for a group of batches,
seq allocated inside it, binary COPY for new rows, each sender's ingestion health, and one
wake-up carrying ids and seq ranges.

Two writers share it: the recorder's direct sink (`_postgres_sink`, one batch at a time,
organizations named by slug in the records) and the server's ingest service (batches of
many senders at once, each in the organization of the API key it came with, whatever its
records say).

Replays are idempotent: a batch id stored before is skipped whole; a run opened again, or
closed again with the status it has, adds no row and no run event; a step stored before
is skipped with its end.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, cast

import asyncpg
import orjson

from tracewire.db import wakeups
from tracewire.db.enums import RunStatus
from tracewire.recorder import _sql
from tracewire.recorder._batch_plan import EVENT_COLUMNS, STEP_COLUMNS, RunDelta, plan
from tracewire.recorder._records import (
    KIND,
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    ArtifactAdded,
    Batch,
    RunClosed,
    RunOpened,
    RunUpdated,
    StepEnded,
    VendorUsed,
    WireRecord,
)

_STEPS_KEY = "pk_steps"
_MAX_CACHED_RUNS = 100_000
_CONNECT_TIMEOUT_S = 5.0
# Bounds a writer stuck on a hung server, so a sink's close() and its spool can still
# happen, and the server's ingest service answers its senders.
_COMMAND_TIMEOUT_S = 30.0
_PG_EPOCH = 946_684_800.0  # 2000-01-01 UTC, where Postgres timestamps count from


def _encode_timestamp(epoch: float) -> tuple[int]:
    # Wire records carry epoch seconds; this skips building a datetime per row.
    return (round((epoch - _PG_EPOCH) * 1_000_000),)


def _decode_timestamp(value: tuple[int]) -> float:
    return value[0] / 1_000_000 + _PG_EPOCH


async def connect(dsn: str) -> asyncpg.Connection:
    """A connection for `BatchStore.write`: timestamps go in and out as epoch seconds."""
    conn = await asyncpg.connect(
        dsn, timeout=_CONNECT_TIMEOUT_S, command_timeout=_COMMAND_TIMEOUT_S
    )
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=_encode_timestamp,
        decoder=_decode_timestamp,
        format="tuple",
    )
    return conn


_KIND = itemgetter(KIND)
_RUN = attrgetter("run_id")


class ForeignRuns(Exception):
    """The batch names runs of another organization than the one it is written for."""

    def __init__(self, runs: list[str]) -> None:
        super().__init__(f"not runs of this organization: {', '.join(sorted(runs)[:5])}")
        self.runs = runs


class UnknownRuns(LookupError):
    """The batch writes into runs not opened yet: another process may not have committed
    its run; the same batch succeeds once it has."""

    def __init__(self, runs: list[str]) -> None:
        super().__init__(f"runs not found (not opened yet?): {sorted(runs)[:5]}")
        self.runs = runs


@dataclass(slots=True)
class Submitted:
    """A batch to store, in organization `org_id` (None: the organizations its records
    name by slug, as the direct sink writes). After `BatchStore.write`: `error` is why it
    was left out (the rest of the group is stored), `duplicate` that it was stored before."""

    batch: Batch
    org_id: uuid.UUID | None = None
    error: Exception | None = None
    duplicate: bool = False
    records: list[WireRecord] = field(default_factory=list)


class BatchStore:
    """Writes on the connection it is handed; caches which organization each run is in."""

    def __init__(self, publisher: wakeups.Publisher) -> None:
        self._wakeups = publisher
        self._org_ids: dict[str, uuid.UUID] = {}
        self._run_orgs: dict[str, uuid.UUID] = {}

    async def close(self) -> None:
        await self._wakeups.close()

    async def write(self, conn: asyncpg.Connection, group: Sequence[Submitted]) -> None:
        """Store every batch of `group` it can in one transaction; see `Submitted`.
        Raises (and stores nothing) when the database fails."""
        for item in group:
            item.error, item.duplicate = None, False
        run_orgs = await self._check_runs(conn, group)
        try:
            await self._write_on(conn, group, run_orgs, without_stored_steps=False)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name != _STEPS_KEY:
                raise
            # A step id that is stored already: given by the caller (a span sent twice
            # over OTLP), not made here. Retrying the group as it is would fail forever.
            await self._write_on(conn, group, run_orgs, without_stored_steps=True)

    async def _check_runs(
        self, conn: asyncpg.Connection, group: Sequence[Submitted]
    ) -> dict[str, uuid.UUID]:
        """Resolve each batch's organization and runs: leave out (with `error`) a batch
        naming another organization's runs, or runs no one has opened yet. Returns the
        organization of each run the group names that is not cached yet."""
        kinds = [set(map(_KIND, item.batch.records)) for item in group]
        slugs = {
            r.org for item, its in zip(group, kinds, strict=True)
            if item.org_id is None and RUN_OPENED in its
            for r in item.batch.records if r.kind == RUN_OPENED
        } | {
            item.batch.health["org"] for item in group
            if item.org_id is None and item.batch.health
        }  # fmt: skip
        for slug in slugs - self._org_ids.keys():
            self._org_ids[slug] = await _sql.ensure_org(conn, slug)
        named = [set(map(_RUN, item.batch.records)) for item in group]
        unknown = [run for run in set().union(*named) if run not in self._run_orgs]
        stored: dict[str, uuid.UUID] = {}
        if unknown:
            rows = await conn.fetch("SELECT id, org_id FROM runs WHERE id = ANY($1)", unknown)
            stored = {row["id"].hex: row["org_id"] for row in rows}
        opened_here: dict[str, uuid.UUID] = {}  # runs this group opens, and their orgs
        for item, its, runs in zip(group, kinds, named, strict=True):
            opens: dict[str, uuid.UUID] = {}
            foreign: list[str] = []
            if RUN_OPENED in its:
                records = self._opening(item, stored, opened_here, opens, foreign)
            else:  # most batches: only the runs need looking at, not every record
                records = item.batch.records
            missing: list[str] = []
            for run in runs:
                org = self._run_orgs.get(run) or stored.get(run) or opened_here.get(run)
                org = org or opens.get(run)
                if org is None:
                    missing.append(run)
                elif item.org_id is not None and org != item.org_id:
                    foreign.append(run)
            if foreign:
                item.error = ForeignRuns(foreign)
            elif missing:
                item.error = UnknownRuns(missing)
            else:
                item.records = records
                opened_here.update(opens)
        return {**stored, **opened_here}

    def _opening(
        self,
        item: Submitted,
        stored: dict[str, uuid.UUID],
        opened_here: dict[str, uuid.UUID],
        opens: dict[str, uuid.UUID],
        foreign: list[str],
    ) -> list[WireRecord]:
        """The records of a batch that opens runs: an open of a run that exists already is
        left out (no row, no RUN_CREATED again), and an update of a run it opens is merged
        into the open. Fills `opens` with the runs it opens, and their organizations, and
        `foreign` with those another organization has."""
        records: list[WireRecord] = []
        opened_at: dict[str, int] = {}  # where this batch opens a run, in `records`
        for record in item.batch.records:
            if record.kind == RUN_OPENED:
                run = record.run_id
                own = item.org_id or self._org_ids[record.org]
                org = self._run_orgs.get(run) or stored.get(run) or opened_here.get(run)
                org = org or opens.get(run)
                if org is None:
                    opens[run] = own
                    opened_at[run] = len(records)
                    records.append(record)
                elif org != own:
                    foreign.append(run)
                continue
            if record.kind == RUN_UPDATED and record.run_id in opened_at:
                index = opened_at[record.run_id]
                merged = _opened_with(cast(RunOpened, records[index]), record)
                if merged is not None:
                    records[index] = merged  # one INSERT, not an INSERT and an UPDATE
                    continue
            records.append(record)
        return records

    async def _write_on(
        self,
        conn: asyncpg.Connection,
        group: Sequence[Submitted],
        run_orgs: dict[str, uuid.UUID],
        *,
        without_stored_steps: bool,
    ) -> None:
        async with conn.transaction():
            ids = [item.batch.id for item in group if item.error is None]
            if not ids:
                return
            fresh = {
                row["id"].hex
                for row in await conn.fetch(
                    "INSERT INTO ingested_batches (id) SELECT unnest($1::uuid[]) "
                    "ON CONFLICT DO NOTHING RETURNING id",
                    ids,
                )
            }
            kept: list[Submitted] = []
            for item in group:
                if item.error is None:
                    batch_id = uuid.UUID(item.batch.id).hex
                    if batch_id in fresh:
                        fresh.discard(batch_id)  # the same batch twice in one group
                        kept.append(item)
                    else:
                        item.duplicate = True  # committed before; its answer was lost
            records = [r for item in kept for r in item.records]
            if without_stored_steps:
                records = await _sql.without_stored_steps(conn, records)
            if any(r.kind == RUN_CLOSED for r in records):
                records = await _without_repeated_closes(conn, records)
            if not records:
                return  # a replay of what is stored: nothing changes, nobody is told
            opened = [
                (run_orgs[r.run_id], r) for r in records if r.kind == RUN_OPENED
            ]  # fmt: skip
            await _sql.insert_runs(conn, opened, RunStatus.RUNNING.value)
            deltas = plan(records)
            seqs = await _sql.allocate(conn, deltas)
            step_rows: list[tuple[Any, ...]] = []
            event_rows: list[tuple[Any, ...]] = []
            ranges: list[list[Any]] = []
            rest = _Rest()
            for run_id, delta in deltas.items():
                org_id = self._run_orgs.get(run_id) or run_orgs[run_id]
                last_step, last_event = seqs[run_id]
                step_rows += delta.step_rows(org_id, last_step - len(delta.new_steps) + 1)
                event_rows += delta.event_rows(run_id, org_id, last_event - len(delta.events) + 1)
                if delta.events:
                    first = last_event - len(delta.events) + 1
                    ranges.append([str(org_id), str(uuid.UUID(run_id)), first, last_event])
                rest.add(org_id, delta)
            await rest.apply(conn)
            if step_rows:
                await conn.copy_records_to_table("steps", records=step_rows, columns=STEP_COLUMNS)
            if event_rows:
                await conn.copy_records_to_table(
                    "run_events", records=event_rows, columns=EVENT_COLUMNS
                )
            for item in kept:
                health = item.batch.health
                if health is not None:
                    org = item.org_id or self._org_ids[health["org"]]
                    await _sql.record_health(conn, org, health)
            announced = await self._wakeups.announce(wakeups.AsyncpgTransaction(conn), ranges)
        if len(self._run_orgs) + len(run_orgs) > _MAX_CACHED_RUNS:
            # A server lives long and sees every run: forget them all now and then, each
            # costs one lookup again when it is next written.
            self._run_orgs.clear()
        self._run_orgs.update(run_orgs)
        await announced.after_commit()


# What a RUN_UPDATED may change that a RUN_OPENED carries itself.
_OPENED_FIELDS = frozenset(RunOpened._fields) - {"kind", "run_id", "org"}


def _opened_with(opened: RunOpened, update: RunUpdated) -> RunOpened | None:
    """The open with the update's changes in it, when it carries every column they set:
    a run opened and updated in one batch (a trace whose first request knows its root)."""
    changes = update.changes
    if not changes.keys() <= _OPENED_FIELDS:
        return None
    if "metadata" in changes and opened.metadata is not None and changes["metadata"] is not None:
        # Merged, as the UPDATE would (`metadata || ...`).
        merged = {**orjson.loads(opened.metadata), **orjson.loads(changes["metadata"])}
        changes = {**changes, "metadata": orjson.dumps(merged).decode()}
    elif "metadata" in changes and changes["metadata"] is None:
        changes = {k: v for k, v in changes.items() if k != "metadata"}  # merges nothing
    return opened._replace(**changes)


async def _without_repeated_closes(
    conn: asyncpg.Connection, records: list[WireRecord]
) -> list[WireRecord]:
    """Less the closes that give a run the status it has already (a root span sent again):
    they would tell subscribers the run changed when it did not."""
    closing = list({r.run_id for r in records if r.kind == RUN_CLOSED})
    rows = await conn.fetch("SELECT id, status FROM runs WHERE id = ANY($1)", closing)
    status = {row["id"].hex: row["status"] for row in rows}
    kept: list[WireRecord] = []
    for record in records:
        if record.kind == RUN_CLOSED:
            if status.get(record.run_id) == record.status:
                continue
            status[record.run_id] = record.status
        kept.append(record)
    return kept


@dataclass(slots=True)
class _Rest:
    """What the group does besides new rows, gathered across its runs so that each kind
    is one statement for the whole group (a group of many small traces would otherwise
    cost a few round trips per run)."""

    ended_steps: list[StepEnded] = field(default_factory=list)
    updates: list[RunUpdated] = field(default_factory=list)
    closes: list[RunClosed] = field(default_factory=list)
    vendor: list[tuple[uuid.UUID, VendorUsed]] = field(default_factory=list)
    artifacts: list[tuple[uuid.UUID, ArtifactAdded]] = field(default_factory=list)

    def add(self, org_id: uuid.UUID, delta: RunDelta) -> None:
        self.ended_steps += delta.ended_steps
        self.updates += delta.updates
        self.closes += delta.closes
        self.vendor += [(org_id, v) for v in delta.vendor]
        self.artifacts += [(org_id, a) for a in delta.artifacts]

    async def apply(self, conn: asyncpg.Connection) -> None:
        if self.ended_steps:
            await _sql.finish_steps(conn, self.ended_steps)
        if self.updates:
            await _sql.update_runs(conn, self.updates)
        if self.closes:
            await _sql.close_runs(conn, self.closes)
        if self.vendor:
            await _sql.add_vendor_usage(conn, self.vendor)
        if self.artifacts:
            await _sql.insert_artifacts(conn, self.artifacts)
