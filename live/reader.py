"""Reads for live streams: a run's events (with the step each one is about) after a seq,
and run rows by id. Not scoped by org: the stream checked the caller's access to the run
before it asked, and the hub reads on behalf of many callers at once."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracewire.db.models import Run, RunEvent, Step

PAGE = 1000


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One entry of a run's event log, with the step as it was when the event was read."""

    run_id: uuid.UUID
    seq: int
    kind: str
    step: Step | None
    artifact_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: datetime


class LiveReader:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def events(
        self, run_id: uuid.UUID, after: int, upto: int | None = None, limit: int = PAGE
    ) -> list[LiveEvent]:
        """Events with `after < seq <= upto`, in seq order, at most `limit`."""
        query = (
            select(RunEvent, Step)
            .outerjoin(Step, Step.id == RunEvent.step_id)
            .where(RunEvent.run_id == run_id, RunEvent.seq > after)
            .order_by(RunEvent.seq)
            .limit(limit)
        )
        if upto is not None:
            query = query.where(RunEvent.seq <= upto)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            LiveEvent(
                event.run_id,
                event.seq,
                event.kind,
                step,
                event.artifact_id,
                event.data,
                event.created_at,
            )
            for event, step in rows
        ]

    async def runs(self, run_ids: list[uuid.UUID]) -> list[Run]:
        async with self._sessions() as session:
            return list(await session.scalars(select(Run).where(Run.id.in_(run_ids))))
