"""The recorder's behaviour without a database: what lands in the sink, and when."""

import asyncio
import signal
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests._records import (
    RunClosed,
    RunOpened,
    RunUpdated,
    StepEnded,
    StepStarted,
    VendorUsed,
    ended,
    records,
    started,
)
from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.recorder import (
    ErrorInfo,
    MemorySink,
    Recorder,
    RecorderSettings,
    current_run,
    node,
    stage,
)
from tracewire.recorder._records import Batch
from tracewire.recorder.run import Terminated
from tracewire.recorder.sink import BatchRefused


def _recorder(sink: MemorySink, **settings: object) -> Recorder:
    return Recorder(sink=sink, settings=RecorderSettings(org="acme", spool=False, **settings))  # type: ignore[arg-type]


def _started(sink: MemorySink) -> list[StepStarted]:
    return started(sink.records)


def _ended(sink: MemorySink) -> dict[uuid.UUID, StepEnded]:
    return ended(sink.records)


def test_run_block_opens_and_completes_the_run_in_the_recorders_org() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with rec.run("bot", input={"q": 1}, user_id="u", conversation_id="c", tags=["t"]) as run:
        assert current_run() is run
    assert current_run() is None
    rec.close()
    opened, closed = records(sink)
    assert isinstance(opened, RunOpened) and isinstance(closed, RunClosed)
    assert (opened.org, opened.agent, opened.input, opened.tags) == ("acme", "bot", {"q": 1}, ["t"])
    assert closed.status == RunStatus.COMPLETED


def test_an_exception_escaping_the_run_block_fails_the_run_and_propagates() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with pytest.raises(KeyError), rec.run("bot"):
        raise KeyError("missing")
    rec.close()
    closed = records(sink)[-1]
    assert isinstance(closed, RunClosed)
    assert (closed.status, closed.error_code) == ("failed", "KeyError")


def test_nested_steps_get_their_parent_and_a_failed_block_records_the_exception() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with rec.run("bot") as run:
        with run.node("outer") as outer:
            run.thought("hmm")
            with pytest.raises(ValueError), run.tool_call("search", {"q": "x"}):
                raise ValueError("no results")
        run.info("after")
    rec.close()
    by_name = {s.name: s for s in _started(sink)}
    assert by_name["thought"].parent_id == outer.id
    assert by_name["search"].parent_id == outer.id
    assert by_name["info"].parent_id is None
    search_end = _ended(sink)[by_name["search"].step_id]
    assert search_end.status == StepStatus.FAILED
    assert (search_end.error_code, search_end.error_message) == ("ValueError", "no results")


def test_node_decorator_records_input_output_and_marks_the_run_failed_on_error() -> None:
    sink = MemorySink()
    rec = _recorder(sink)

    @node("parse")
    def parse(state: dict[str, str]) -> dict[str, str]:
        return {"parsed": state["text"].upper()}

    @node("explode")
    def explode(state: dict[str, str]) -> None:
        raise RuntimeError("model refused")

    assert parse({"text": "outside a run"}) == {"parsed": "OUTSIDE A RUN"}
    with pytest.raises(RuntimeError), rec.run("bot"):
        parse({"text": "hi"})
        explode({})
    rec.close()

    parse_step, explode_step = _started(sink)
    assert (parse_step.type, parse_step.input) == (StepType.NODE, {"text": "hi"})
    ends = _ended(sink)
    assert ends[parse_step.step_id].output == {"parsed": "HI"}
    assert ends[explode_step.step_id].status == StepStatus.FAILED
    closes = [r for r in records(sink) if isinstance(r, RunClosed)]
    assert [(c.status, c.error_code, c.error_message) for c in closes] == [
        ("failed", "explode_error", "model refused")
    ]


async def test_node_decorator_works_on_async_functions_and_keeps_runs_apart_per_task() -> None:
    sink = MemorySink()
    rec = _recorder(sink)

    @node("fetch")
    async def fetch(n: int) -> int:
        await asyncio.sleep(0.01)
        run = current_run()
        assert run is not None
        run.info("fetched", n=n)
        return n * 2

    async def one_run(n: int) -> uuid.UUID:
        with rec.run("bot") as run:
            assert await fetch(n) == n * 2
            return run.id

    run_ids = await asyncio.gather(*(one_run(n) for n in range(5)))
    rec.close()
    started = _started(sink)
    for run_id in run_ids:
        fetch_step, info_step = [s for s in started if s.run_id == run_id]
        assert info_step.parent_id == fetch_step.step_id


def test_stage_times_a_block_and_vendor_usage_is_counted() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with stage("outside") as nothing:
        assert nothing is None
    with rec.run("bot") as run, stage("crawl", input={"n": 3}):
        run.vendor_usage("tavily", calls=3, errors=1, cost=0.03)
    rec.close()
    (crawl,) = _started(sink)
    assert (crawl.name, crawl.type) == ("crawl", StepType.NODE)
    (usage,) = [r for r in records(sink) if isinstance(r, VendorUsed)]
    assert (usage.vendor, usage.calls, usage.errors, usage.cost) == ("tavily", 3, 1, 0.03)


def test_flush_waits_for_the_sink_and_close_is_idempotent() -> None:
    sink = MemorySink()
    rec = _recorder(sink, flush_interval=60.0)  # only flush() can wake the writer
    with rec.run("bot") as run:
        for i in range(10):
            run.info(f"m{i}")
    assert rec.flush(timeout=5)
    assert len(records(sink)) == 22
    assert rec.close() and rec.close()
    assert sink.closed


def test_recording_after_close_is_ignored_not_raised() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    run = rec.run("bot")
    rec.close()
    run.info("too late")
    assert len(records(sink)) == 1


def test_a_full_batch_wakes_the_writer_without_waiting_for_the_interval() -> None:
    sink = MemorySink()
    rec = _recorder(sink, batch_size=10, flush_interval=60.0)
    run = rec.run("bot")
    for i in range(20):
        run.info(f"m{i}")
    deadline = threading.Event()
    for _ in range(100):
        if len(records(sink)) >= 10:
            break
        deadline.wait(0.02)
    assert len(records(sink)) >= 10
    rec.close()


class _FlakySink(MemorySink):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def write(self, batch: Batch) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database restarting")
        super().write(batch)


def test_a_failing_sink_is_retried_until_the_batch_lands() -> None:
    sink = _FlakySink(failures=3)
    rec = _recorder(sink)
    with rec.run("bot") as run:
        run.info("survives")
    assert rec.close(timeout=10)
    assert len(records(sink)) == 4
    assert rec.stats().failed_attempts == 3


class _RefusingFirstSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    def write(self, batch: Batch) -> None:
        if not self.refused:
            self.refused = True
            raise BatchRefused("malformed, says the server")
        super().write(batch)


def test_dropped_and_written_count_records_as_the_agent_recorded_them() -> None:
    sink = _RefusingFirstSink()
    rec = _recorder(sink)
    for attempt in range(2):  # the first run's batch is refused, the second's stored
        with rec.run("bot") as run:
            for i in range(10):
                run.info(f"s{i}")  # one record here, two wire records (start, end)
        # A flush tells whether what it waited for was stored, not only that it is gone.
        assert rec.flush(10) is (attempt == 1)
    stats = rec.stats()
    assert rec.close(10)
    # Each run: opened, ten instant steps, closed.
    assert (stats.dropped, stats.written_records, stats.queued) == (12, 12, 0)
    assert len(records(sink)) == 22


def test_a_run_ended_by_the_recorders_sigterm_handler_is_cancelled_with_the_signal() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with pytest.raises(SystemExit) as ended, rec.run("bot"):
        raise Terminated(signal.SIGTERM)
    assert ended.value.code == 128 + signal.SIGTERM
    assert rec.close(10)
    closed = [r for r in records(sink) if isinstance(r, RunClosed)]
    assert [(r.status, r.error_code, r.error_message) for r in closed] == [
        ("cancelled", "SIGTERM", "the process received SIGTERM")
    ]


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RecorderSettings(batch_size=0)
    with pytest.raises(ValueError, match="postgresql:// URL"):
        Recorder()
    with pytest.raises(ValueError, match="finishes as"):
        Recorder(sink=MemorySink()).run("bot").finish("running")


def test_a_failed_validation_is_a_failed_step() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with rec.run("bot") as run:
        ok = run.validation("has_citation", passed=True)
        bad = run.validation("no_pii", passed=False, details={"found": "email"})
    rec.close()
    ends = _ended(sink)
    assert (ends[ok].status, ends[bad].status) == (StepStatus.COMPLETED, StepStatus.FAILED)


def test_the_traceback_is_the_one_at_the_failure_not_where_the_exception_ended_up() -> None:
    sink = MemorySink()
    rec = _recorder(sink)

    def deep() -> None:
        raise LookupError("gone")

    def caller() -> None:
        with rec.run("bot") as run, run.step("lookup"):
            deep()

    with pytest.raises(LookupError):
        caller()
    rec.close()
    (end,) = _ended(sink).values()
    assert end.error_traceback is not None
    lines = end.error_traceback.splitlines()
    frames = [line.split(" in ")[-1] for line in lines if ", in " in line]
    assert frames == ["caller", "deep"]


def test_a_step_recorded_after_the_fact_keeps_its_given_id_times_and_traceback_text() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    parent_id, step_id = uuid.uuid4(), uuid.uuid4()
    with rec.run("bot", started_at=start - timedelta(seconds=1)) as run:
        step = run.step("span", parent=parent_id, step_id=step_id, started_at=start)
        step.end(
            error=ErrorInfo("boom", "ValueError", "Traceback (most recent call last):\n  x\n"),
            ended_at=start + timedelta(milliseconds=250),
        )
        run.finish(finished_at=start + timedelta(seconds=2))
    rec.close()
    opened = next(r for r in records(sink) if isinstance(r, RunOpened))
    closed = next(r for r in records(sink) if isinstance(r, RunClosed))
    assert opened.started_at == start.timestamp() - 1
    assert closed.finished_at == start.timestamp() + 2
    (begin,) = _started(sink)
    assert (begin.step_id, begin.parent_id, begin.started_at) == (
        step_id,
        parent_id,
        start.timestamp(),
    )
    end = _ended(sink)[step_id]
    assert end.ended_at == start.timestamp() + 0.25
    assert end.latency_ms == pytest.approx(250)
    assert (end.status, end.error_code, end.error_message) == ("failed", "ValueError", "boom")
    assert end.error_traceback == "Traceback (most recent call last):\n  x\n"


def test_given_times_must_say_their_timezone() -> None:
    rec = _recorder(MemorySink())
    naive = datetime(2026, 3, 1, 12, 0, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        rec.run("bot", started_at=naive)
    run = rec.run("bot")
    with pytest.raises(ValueError, match="timezone-aware"):
        run.step("s", started_at=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        run.step("s").end(ended_at=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        run.update(started_at=naive)
    rec.close()


def test_run_update_queues_only_the_fields_given() -> None:
    sink = MemorySink()
    rec = _recorder(sink)
    with rec.run("bot") as run:
        run.update(
            agent="support-bot",
            user_id=None,
            metadata={"team": "a"},
            tags=(t for t in ["x", "y"]),
            external_trace_url="https://langfuse.example/project/p/traces/t",
        )
        run.update()  # nothing given, nothing queued
        with pytest.raises(ValueError, match="metadata"):
            run.update(metadata=["not", "a", "dict"])  # type: ignore[arg-type]
    rec.close()
    (update,) = [r for r in records(sink) if isinstance(r, RunUpdated)]
    assert update.run_id == run.id
    assert update.changes == {
        "agent": "support-bot",
        "user_id": None,
        "metadata": '{"team":"a"}',
        "tags": ["x", "y"],
        "external_trace_url": "https://langfuse.example/project/p/traces/t",
    }


def test_langfuse_mirror_settings_come_from_the_environment_and_keys_go_in_pairs() -> None:
    env = {
        "LANGFUSE_PUBLIC_KEY": "pk-lf-1",
        "LANGFUSE_SECRET_KEY": "sk-lf-secret",
        "LANGFUSE_HOST": "http://127.0.0.1:3000/",
    }
    settings = RecorderSettings.from_env(env)
    assert settings.mirrors_to_langfuse
    assert (settings.langfuse_public_key, settings.langfuse_host) == (
        "pk-lf-1",
        "http://127.0.0.1:3000",
    )
    assert "sk-lf-secret" not in repr(settings)
    assert not RecorderSettings.from_env(
        {"LANGFUSE_HOST": "http://127.0.0.1:3000"}
    ).mirrors_to_langfuse
    with pytest.raises(ValueError, match="go together"):
        RecorderSettings(langfuse_public_key="pk-lf-1")
    with pytest.raises(ValueError, match="http"):
        RecorderSettings(langfuse_public_key="pk", langfuse_secret_key="sk", langfuse_host="x")
