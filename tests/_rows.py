"""Rows with every column under the test's control, written straight through SQLAlchemy."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tracewire.db.engine import session_factory
from tracewire.db.enums import StepStatus, StepType
from tracewire.db.models import Base, Run, Step

T0 = datetime.now(UTC) - timedelta(hours=1)


def run_row(org_id: uuid.UUID, **fields: Any) -> Run:
    fields.setdefault("agent", "test-agent")
    fields.setdefault("created_at", T0)
    return Run(id=fields.pop("id", uuid.uuid4()), org_id=org_id, **fields)


def step_row(run: Run, seq: int, name: str, **fields: Any) -> Step:
    fields.setdefault("type", StepType.NODE.value)
    fields.setdefault("status", StepStatus.COMPLETED.value)
    fields.setdefault("started_at", run.created_at + timedelta(milliseconds=seq))
    return Step(
        id=fields.pop("id", uuid.uuid4()),
        org_id=run.org_id,
        run_id=run.id,
        seq=seq,
        name=name,
        **fields,
    )


async def insert(engine: AsyncEngine, *rows: Base) -> None:
    """Runs first, then everything else (steps need their run)."""
    async with session_factory(engine).begin() as session:
        session.add_all([r for r in rows if isinstance(r, Run)])
        await session.flush()
        session.add_all([r for r in rows if not isinstance(r, Run)])
