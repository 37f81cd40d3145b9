"""A run whose recorder died is marked stalled, with a reason and a run event; a run whose
recorder is alive is left alone."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tracewire.db.engine import session_factory
from tracewire.db.models import Run, RunEvent
from tracewire.db.wakeups import PostgresPublisher
from tracewire.live.liveness import mark_stalled_runs
from tracewire.recorder import Recorder, RecorderSettings

# Far above the moments between the living run's last batch and the sweep, even on a loaded
# machine; far below the hour the runs are backdated by.
SILENCE = timedelta(seconds=30)

_DOOMED_AGENT = textwrap.dedent(
    """
    import os, sys, time
    from tracewire.recorder import Recorder
    rec = Recorder(sys.argv[1], org=sys.argv[2])
    run = rec.run("doomed")
    run.info("working")
    rec.flush(10)
    print(run.id, flush=True)
    time.sleep(60)
    """
)


async def test_a_killed_recorders_run_is_marked_stalled_with_a_reason(
    database_url: str, engine: AsyncEngine
) -> None:
    org = f"stall-{uuid.uuid4().hex[:8]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _DOOMED_AGENT, database_url, org, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    run_id = uuid.UUID((await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip())
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()

    alive = Recorder(database_url, settings=RecorderSettings(org=org))
    alive_run = alive.run("alive")
    assert await asyncio.to_thread(alive.flush, 10)
    # Both runs last heard of an hour ago, instead of a sleep past a short silence: a
    # loaded machine cannot make the living one look silent.
    async with engine.begin() as conn:
        await conn.execute(
            update(Run)
            .where(Run.id.in_([run_id, alive_run.id]))
            .values(updated_at=func.now() - timedelta(hours=1))
        )
    alive_run.info("still here")
    assert await asyncio.to_thread(alive.flush, 10)

    assert await mark_stalled_runs(engine, SILENCE, PostgresPublisher()) >= 1
    await asyncio.to_thread(alive.close)

    async with session_factory(engine)() as session:
        dead = await session.get(Run, run_id)
        living = await session.get(Run, alive_run.id)
        events = list(
            await session.scalars(
                select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.seq)
            )
        )
    assert dead is not None and living is not None
    assert (dead.status, dead.error_code) == ("stalled", "stalled")
    assert dead.error_message and "no word from the recorder" in dead.error_message
    assert dead.finished_at is not None
    assert living.status == "running"
    assert [e.kind for e in events][-1] == "run_status_changed"
    assert events[-1].data["status"] == "stalled"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
