"""Runs whose recorder went silent (its process was killed) must not stay `running`
forever. The recorder touches `runs.updated_at` with every batch and with a heartbeat
while a run is open; this sweep marks runs silent for longer than the timeout `stalled`,
with a reason, a run event and a wake-up (through the server's publisher), like any other
status change.

Several servers may sweep at once: `FOR UPDATE SKIP LOCKED` gives each stalled run to one.
"""

import asyncio
import logging
from datetime import timedelta

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tracewire.db.enums import EventKind, RunStatus
from tracewire.db.wakeups import Publisher, SqlAlchemyTransaction
from tracewire.live.outage import database_unreachable

logger = logging.getLogger("tracewire.liveness")

_MARK_STALLED = text(
    """
    WITH silent AS (
        SELECT id FROM runs
        WHERE status = :running AND updated_at < now() - CAST(:timeout AS interval)
        ORDER BY id
        FOR UPDATE SKIP LOCKED
        LIMIT 500
    )
    UPDATE runs SET status = :stalled, error_code = 'stalled', error_message = :reason,
        finished_at = now(), last_event_seq = last_event_seq + 1, updated_at = now()
    FROM silent WHERE runs.id = silent.id
    RETURNING runs.id, runs.org_id, runs.last_event_seq
    """
)
_APPEND_EVENT = text(
    "INSERT INTO run_events (run_id, seq, org_id, kind, data) "
    "VALUES (:run_id, :seq, :org_id, :kind, CAST(:data AS jsonb))"
)


async def mark_stalled_runs(engine: AsyncEngine, silence: timedelta, wakeups: Publisher) -> int:
    """One sweep; returns how many runs it marked."""
    reason = (
        f"no word from the recorder for {silence.total_seconds():g}s "
        "(its process stopped without finishing the run)"
    )
    data = orjson.dumps({"status": RunStatus.STALLED.value, "reason": reason}).decode()
    async with engine.begin() as conn:
        marked = (
            await conn.execute(
                _MARK_STALLED,
                {
                    "running": RunStatus.RUNNING.value,
                    "stalled": RunStatus.STALLED.value,
                    "timeout": silence,
                    "reason": reason,
                },
            )
        ).all()
        if not marked:
            return 0
        await conn.execute(
            _APPEND_EVENT,
            [
                {
                    "run_id": run_id,
                    "seq": seq,
                    "org_id": org_id,
                    "kind": EventKind.RUN_STATUS_CHANGED.value,
                    "data": data,
                }
                for run_id, org_id, seq in marked
            ],
        )
        announced = await wakeups.announce(
            SqlAlchemyTransaction(conn), ((o, r, s, s) for r, o, s in marked)
        )
    await announced.after_commit()
    logger.info("marked %d silent runs stalled", len(marked))
    return len(marked)


async def sweep_forever(
    engine: AsyncEngine, silence: timedelta, interval: float, wakeups: Publisher
) -> None:
    database_away = False
    while True:
        try:
            await mark_stalled_runs(engine, silence, wakeups)
        except Exception as exc:
            if not database_unreachable(exc):
                logger.exception("the stalled-run sweep failed; trying again next interval")
            elif not database_away:  # once per outage: the live streams say the rest
                reason = type(exc).__name__
                logger.warning("the stalled-run sweep waits for the database (%s)", reason)
            database_away = database_unreachable(exc)
        else:
            database_away = False
        await asyncio.sleep(interval)
