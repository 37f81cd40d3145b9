"""Rows for the CSV/JSONL exports, streamed from a server-side cursor (never a whole table in
memory): a run's events, a run's steps, a filtered run list, QA samples.

Each function yields plain dicts with the columns in `*_COLUMNS` order.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracewire.db.models import QaSample, Run, RunEvent, Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.filters import RunFilterSpec, check_storable

# Rows fetched per round trip from the server-side cursor.
CHUNK = 1000
MAX_EXPORT_ROWS = 1_000_000

EVENT_COLUMNS = ("run_id", "seq", "kind", "step_id", "artifact_id", "data", "created_at")
STEP_COLUMNS = (
    "id", "run_id", "seq", "parent_id", "name", "type", "status", "started_at", "ended_at",
    "latency_ms", "model", "vendor", "input_tokens", "output_tokens", "cost", "error_code",
    "error_message", "input", "output", "payload",
)  # fmt: skip
RUN_COLUMNS = (
    "id", "agent", "status", "user_id", "conversation_id", "tags", "current_node",
    "error_code", "error_message", "created_at", "started_at", "finished_at", "duration_ms",
    "step_count", "error_count", "input_tokens", "output_tokens", "cost", "external_trace_url",
)  # fmt: skip
QA_COLUMNS = (
    "id", "bucket", "run_id", "step_id", "result", "checks", "notes", "created_at", "reviewed_at",
)  # fmt: skip


async def run_exists(
    sessions: async_sessionmaker[AsyncSession], caller: Caller, run_id: uuid.UUID
) -> bool:
    async with sessions() as session:
        found = await session.scalar(scope.columns(caller, Run, Run.id).where(Run.id == run_id))
    return found is not None


async def _stream(
    sessions: async_sessionmaker[AsyncSession], stmt: Select[Any], columns: Sequence[str]
) -> AsyncIterator[dict[str, Any]]:
    async with sessions() as session:
        result = await session.stream(
            stmt.limit(MAX_EXPORT_ROWS).execution_options(yield_per=CHUNK)
        )
        async for row in result:
            yield dict(zip(columns, row, strict=True))


def run_events(
    sessions: async_sessionmaker[AsyncSession], caller: Caller, run_id: uuid.UUID
) -> AsyncIterator[dict[str, Any]]:
    e = RunEvent
    stmt = (
        scope.columns(caller, e, *(getattr(e, c) for c in EVENT_COLUMNS))
        .where(e.run_id == run_id)
        .order_by(e.seq)
    )
    return _stream(sessions, stmt, EVENT_COLUMNS)


def run_steps(
    sessions: async_sessionmaker[AsyncSession], caller: Caller, run_id: uuid.UUID
) -> AsyncIterator[dict[str, Any]]:
    stmt = (
        scope.columns(caller, Step, *(getattr(Step, c) for c in STEP_COLUMNS))
        .where(Step.run_id == run_id)
        .order_by(Step.seq)
    )
    return _stream(sessions, stmt, STEP_COLUMNS)


def runs(
    sessions: async_sessionmaker[AsyncSession], caller: Caller, spec: RunFilterSpec
) -> AsyncIterator[dict[str, Any]]:
    """Runs newest first, as the `runs` list shows them."""
    duration = (Run.finished_at - Run.started_at).label("duration")
    cols = [duration if c == "duration_ms" else getattr(Run, c) for c in RUN_COLUMNS]
    stmt = spec.apply(caller, scope.columns(caller, Run, *cols)).order_by(
        Run.created_at.desc(), Run.id.desc()
    )
    return _stream(sessions, stmt, RUN_COLUMNS)


def qa_samples(
    sessions: async_sessionmaker[AsyncSession], caller: Caller, bucket: str | None
) -> AsyncIterator[dict[str, Any]]:
    check_storable("bucket", bucket)
    q = QaSample
    stmt = scope.columns(caller, q, *(getattr(q, c) for c in QA_COLUMNS)).order_by(
        q.created_at.desc(), q.id.desc()
    )
    if bucket is not None:
        stmt = stmt.where(q.bucket == bucket)
    return _stream(sessions, stmt, QA_COLUMNS)
