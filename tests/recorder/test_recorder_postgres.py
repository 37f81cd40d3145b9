"""The recorder against a real Postgres: every step type round-trips, seq stays gap-free
with several writers on one run, and nothing recorded is lost on close or exit."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import data, new_org_key, serve
from tests.recorder._every_step_type import check_every_step_type, record_every_step_type
from tracewire.db.engine import driver_dsn, session_factory
from tracewire.db.models import Organization, Run, RunEvent, RunVendorUsage, Step
from tracewire.db.notify import CHANNEL as NOTIFY_CHANNEL
from tracewire.recorder import Recorder, node
from tracewire.recorder._postgres_sink import PostgresSink
from tracewire.recorder._records import (
    RUN_OPENED,
    STEP_ENDED,
    STEP_STARTED,
    Batch,
    RunOpened,
    StepEnded,
    StepStarted,
)


def _org() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


async def _steps(engine: AsyncEngine, run_id: uuid.UUID) -> list[Step]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(select(Step).where(Step.run_id == run_id).order_by(Step.seq))
        return list(rows)


async def _run(engine: AsyncEngine, run_id: uuid.UUID) -> Run:
    async with session_factory(engine)() as session:
        run = await session.get(Run, run_id)
        assert run is not None
        return run


async def test_every_step_type_round_trips_with_its_typed_payload(
    database_url: str, engine: AsyncEngine
) -> None:
    org = _org()
    rec = Recorder(database_url, org=org)
    with rec.run("bot", input={"q": "where is my order"}, user_id="u1", tags=["x"]) as run:
        record_every_step_type(run)
    assert await asyncio.to_thread(rec.close)

    db_run = await _run(engine, run.id)
    check_every_step_type(await _steps(engine, run.id), db_run)
    assert (db_run.status, db_run.agent, db_run.user_id, db_run.tags) == (
        "completed", "bot", "u1", ["x"],
    )  # fmt: skip
    async with session_factory(engine)() as session:
        usage = await session.get(RunVendorUsage, (run.id, "tavily"))
        assert usage is not None and (usage.calls, usage.rate_limit_hits) == (2, 1)
        org_row = await session.scalar(select(Organization).where(Organization.slug == org))
        assert org_row is not None and db_run.org_id == org_row.id


async def test_node_failure_is_visible_on_the_step_and_the_run(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())

    @node("validate")
    def validate(state: dict[str, int]) -> None:
        raise ValueError(f"amount {state['amount']} over limit")

    with pytest.raises(ValueError), rec.run("bot") as run:
        validate({"amount": 900})
    assert await asyncio.to_thread(rec.close)

    (step,) = await _steps(engine, run.id)
    assert (step.name, step.status, step.input) == ("validate", "failed", {"amount": 900})
    assert step.error_message == "amount 900 over limit"
    assert step.error_traceback and "raise ValueError" in step.error_traceback
    db_run = await _run(engine, run.id)
    assert (db_run.status, db_run.error_code, db_run.current_node) == (
        "failed", "validate_error", "validate",
    )  # fmt: skip
    assert db_run.finished_at is not None and db_run.error_count == 1


async def test_a_step_is_stored_running_and_then_updated_when_it_ends(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())
    run = rec.run("bot")
    step = run.step("slow tool", type="tool_call", input={"n": 1})
    assert await asyncio.to_thread(rec.flush, 10)
    (stored,) = await _steps(engine, run.id)
    assert (stored.status, stored.ended_at, stored.input) == ("running", None, {"n": 1})

    step.end({"answer": 42}, input_tokens=5, cost=0.5)
    run.finish()
    assert await asyncio.to_thread(rec.close)
    (stored,) = await _steps(engine, run.id)
    assert (stored.status, stored.output, stored.input_tokens) == ("completed", {"answer": 42}, 5)
    db_run = await _run(engine, run.id)
    assert (db_run.input_tokens, float(db_run.cost)) == (5, 0.5)


async def test_a_batch_sent_twice_is_written_once(database_url: str, engine: AsyncEngine) -> None:
    run, step = uuid.uuid4().hex, uuid.uuid4().hex
    unset: dict[str, None] = dict.fromkeys(("input", "payload", "model", "vendor"))
    batch = Batch(
        uuid.uuid4().hex,
        [
            RunOpened(
                RUN_OPENED, run, _org(), "bot", None, None, None, None, None, started_at=1.7e9
            ),
            StepStarted(STEP_STARTED, step, run, None, "s", "info", **unset, started_at=1.7e9),
            StepEnded(
                STEP_ENDED,
                step,
                run,
                "completed",
                output='"ok"',
                payload=None,
                model=None,
                vendor=None,
                input_tokens=None,
                output_tokens=None,
                cost=None,
                error_code=None,
                error_message=None,
                error_traceback=None,
                ended_at=1.7e9,
                latency_ms=1.0,
            ),
        ],
    )
    run_id = uuid.UUID(run)
    sink = PostgresSink(database_url)
    try:
        await asyncio.to_thread(sink.write, batch)
        # The acknowledgement was lost; the writer sends the same batch again.
        await asyncio.to_thread(sink.write, batch)
    finally:
        await asyncio.to_thread(sink.close)
    assert len(await _steps(engine, run_id)) == 1
    async with session_factory(engine)() as session:
        events = await session.scalars(select(RunEvent).where(RunEvent.run_id == run_id))
        assert [(e.seq, e.kind) for e in events] == [(1, "run_created"), (2, "step_finished")]


async def test_each_committed_batch_notifies_with_run_ids_and_seq_ranges(
    database_url: str,
) -> None:
    listener = await asyncpg.connect(driver_dsn(database_url))
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        rec = Recorder(database_url, org=_org())
        with rec.run("bot") as run:
            run.info("hello")
        assert await asyncio.to_thread(rec.close)
        payload = orjson.loads(await asyncio.wait_for(received.get(), timeout=10))
    finally:
        await listener.close()
    (entry,) = [e for e in payload["runs"] if e[1] == str(run.id)]
    # run created, step finished (it started and ended in this batch), run finished
    assert entry[2:] == [1, 3]


_WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, uuid
    from tracewire.recorder import Recorder, RecorderSettings
    url, run_id, writer, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rec = Recorder(url, settings=RecorderSettings(org="ignored", batch_size=7))
    run = rec.attach(run_id)
    for i in range(count):
        run.info(f"{writer}-{i}", name=f"{writer}-{i}")
    # No close(): the interpreter's exit must flush what was recorded.
    """
)


async def test_two_processes_writing_one_run_keep_seq_gap_free_and_in_record_order(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())
    run = rec.run("controller")
    assert await asyncio.to_thread(rec.flush, 10)
    count = 400
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WRITER_SCRIPT, database_url, str(run.id), name, str(count)
        )
        for name in ("a", "b")
    ]
    assert [await p.wait() for p in procs] == [0, 0]
    run.finish()
    assert await asyncio.to_thread(rec.close)

    steps = await _steps(engine, run.id)
    assert [s.seq for s in steps] == list(range(1, 2 * count + 1))
    for writer in ("a", "b"):
        mine = [int(s.name.split("-")[1]) for s in steps if s.name.startswith(f"{writer}-")]
        assert mine == list(range(count))
    assert (await _run(engine, run.id)).step_count == 2 * count


async def test_closing_at_interpreter_exit_loses_nothing(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())
    run = rec.run("bot")
    assert await asyncio.to_thread(rec.close)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _WRITER_SCRIPT, database_url, str(run.id), "w", "5000"],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    steps = await _steps(engine, run.id)
    assert len(steps) == 5000
    assert [s.seq for s in steps] == list(range(1, 5001))


async def test_ingestion_health_ships_with_the_batches_and_shows_on_the_api(
    database_url: str, engine: AsyncEngine
) -> None:
    org = _org()
    key = await new_org_key(engine, org)
    rec = Recorder(database_url, org=org)
    with rec.run("bot") as run:
        run.info("one")
    assert await asyncio.to_thread(rec.flush, 10)
    with rec.run("bot") as run:
        run.info("two")  # the second batch carries the stats after the first
    assert await asyncio.to_thread(rec.close, 10)
    other = await new_org_key(engine)

    async with serve(database_url) as client:
        document = "{ ingestionHealth { pid queued spooledBytes dropped writtenRecords } }"
        mine = (await data(client, document, key))["ingestionHealth"]
        theirs = (await data(client, document, other))["ingestionHealth"]
    assert mine == [
        # Records as recorded: the first run's opening, its one step and its end.
        {"pid": os.getpid(), "queued": 0, "spooledBytes": 0, "dropped": 0, "writtenRecords": 3}
    ]
    assert theirs == []


_EXITING_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from tracewire.recorder import Recorder, RecorderSettings
    url, run_id, how = sys.argv[1], sys.argv[2], sys.argv[3]
    settings = RecorderSettings(org="ignored", flush_interval=60.0, exit_on_sigterm=True)
    rec = Recorder(url, settings=settings)
    run = rec.attach(run_id)
    for i in range(300):
        run.info(f"s{i}", name=f"s{i}")
    if how == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)
    raise RuntimeError("the agent crashed")
    """
)


@pytest.mark.parametrize("how", ["sigterm", "exception"])
async def test_a_process_ending_by_sigterm_or_an_exception_flushes_first_when_asked(
    database_url: str, engine: AsyncEngine, how: str
) -> None:
    rec = Recorder(database_url, org=_org())
    run = rec.run("bot")
    assert await asyncio.to_thread(rec.close)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _EXITING_SCRIPT, database_url, str(run.id), how],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == (128 + signal.SIGTERM if how == "sigterm" else 1)
    steps = await _steps(engine, run.id)
    assert [s.name for s in steps] == [f"s{i}" for i in range(300)]


_FORKING_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, sys
    from tracewire.recorder import Recorder, RecorderSettings
    url, run_id = sys.argv[1], sys.argv[2]
    rec = Recorder(url, settings=RecorderSettings(org="ignored", batch_size=16))
    run = rec.attach(run_id)
    run.info("before the fork", name="before-fork")

    def work(name):
        for i in range(50):
            run.info(f"{name}-{i}", name=f"{name}-{i}")

    pid = os.fork()  # gunicorn style: the child goes on recording and exits normally
    if pid == 0:
        work("forked")
        sys.exit(0)
    worker = multiprocessing.get_context("fork").Process(target=work, args=("mp",))
    worker.start()  # multiprocessing leaves through os._exit: no atexit there
    work("parent")
    worker.join()
    assert os.waitpid(pid, 0)[1] == 0 and worker.exitcode == 0
    """
)


async def test_forked_workers_record_through_their_own_writer(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())
    run = rec.run("bot")
    assert await asyncio.to_thread(rec.close)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _FORKING_SCRIPT, database_url, str(run.id)],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    steps = await _steps(engine, run.id)
    assert [s.seq for s in steps] == list(range(1, 152))
    names = [s.name for s in steps]
    assert len(set(names)) == 151 and len({s.id for s in steps}) == 151
    for writer in ("forked", "mp", "parent"):
        assert [n for n in names if n.startswith(f"{writer}-")] == [
            f"{writer}-{i}" for i in range(50)
        ]


async def test_run_updates_and_given_times_are_stored_with_metadata_merged(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    run = rec.run("otlp", metadata={"otel": {"trace_id": "ab"}}, started_at=start)
    run.update(
        agent="support-bot",
        input={"q": "where is 42?"},
        metadata={"team": "a"},
        tags=["beta"],
        external_trace_url="https://langfuse.example/project/p/traces/t",
    )
    run.update(started_at=start - timedelta(seconds=5), conversation_id="conv-1")
    run.finish(finished_at=start + timedelta(seconds=3))
    assert await asyncio.to_thread(rec.close)
    db_run = await _run(engine, run.id)
    assert (db_run.agent, db_run.input, db_run.tags, db_run.conversation_id) == (
        "support-bot",
        {"q": "where is 42?"},
        ["beta"],
        "conv-1",
    )
    assert db_run.metadata_ == {"otel": {"trace_id": "ab"}, "team": "a"}
    assert db_run.external_trace_url == "https://langfuse.example/project/p/traces/t"
    assert (db_run.started_at, db_run.finished_at) == (
        start - timedelta(seconds=5),
        start + timedelta(seconds=3),
    )


async def test_a_step_id_recorded_twice_is_stored_once_and_later_batches_still_land(
    database_url: str, engine: AsyncEngine
) -> None:
    rec = Recorder(database_url, org=_org())
    run = rec.run("bot")
    step_id = uuid.uuid4()
    run.step("span", step_id=step_id).end(output="first", input_tokens=3)
    assert await asyncio.to_thread(rec.flush, 10)
    # The same span again (an exporter retrying) in a later batch, and a new one sent twice
    # within one batch.
    other_id = uuid.uuid4()
    for _ in range(2):
        run.step("span", step_id=step_id).end(output="again", input_tokens=3)
        run.step("other", step_id=other_id).end(output="once", input_tokens=4)
    run.info("after the duplicates")
    run.finish()
    assert await asyncio.to_thread(rec.close, 10)
    steps = await _steps(engine, run.id)
    assert [(s.id, s.name, s.output, s.seq) for s in steps] == [
        (step_id, "span", "first", 1),
        (other_id, "other", "once", 2),
        (steps[2].id, "info", None, 3),
    ]
    db_run = await _run(engine, run.id)
    assert (db_run.status, db_run.step_count, db_run.input_tokens) == ("completed", 3, 7)
