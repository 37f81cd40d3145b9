"""Every record's layout has one home (`recorder._records`): the hot path's tuple literals
follow the raw layouts, the writer turns them into wire records by name, and wire records
come back from the spool's JSON in their named shape."""

import ast
import io
import re
import tokenize
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, get_type_hints

import orjson
import pytest

import tracewire.recorder
from tracewire.recorder import ErrorInfo, MemorySink, Recorder, RecorderSettings
from tracewire.recorder._prepare import prepare, prepare_instant
from tracewire.recorder._records import (
    ARTIFACT_ADDED,
    KIND,
    RAW_RECORDS,
    RUN_CLOSED,
    RUN_OPENED,
    RUN_UPDATED,
    STEP_ENDED,
    STEP_INSTANT,
    STEP_STARTED,
    VENDOR_USED,
    WIRE_RECORDS,
    ArtifactAdded,
    RawRunClosed,
    RawRunOpened,
    RawRunUpdated,
    RawStepEnded,
    RawStepInstant,
    RawStepStarted,
    RawVendorUsed,
    RunClosed,
    RunOpened,
    RunUpdated,
    StepEnded,
    StepStarted,
    VendorUsed,
    WireRecord,
    wire_record,
)
from tracewire.recorder._spool import Orphan, Spool

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)


@pytest.fixture
def rec() -> Any:
    recorder = Recorder(sink=MemorySink(), settings=RecorderSettings(org="acme", spool=False))
    yield recorder
    recorder.close()


def _queued(rec: Recorder) -> deque[tuple[Any, ...]]:
    """A queue of our own in place of the writer's: what the hot path built stays raw."""
    queue: deque[tuple[Any, ...]] = deque()
    rec._queue = queue
    return queue


@pytest.mark.parametrize("layout", [*WIRE_RECORDS.items(), *RAW_RECORDS.items()])
def test_every_layout_starts_with_its_kind_typed_as_that_kind(
    layout: tuple[int, type[tuple[Any, ...]]],
) -> None:
    kind, cls = layout
    assert cls._fields[KIND] == "kind"  # type: ignore[attr-defined]
    assert get_args(get_type_hints(cls)["kind"]) == (kind,)


def test_what_the_hot_path_queues_follows_the_raw_layouts_field_by_field(rec: Recorder) -> None:
    queue = _queued(rec)
    run = rec.run(
        "bot",
        input={"q": 1},
        user_id="u",
        conversation_id="c",
        metadata={"m": 1},
        tags=["t"],
        run_id=uuid.UUID(int=1),
        started_at=AT,
    )
    parent = uuid.UUID(int=2)
    step = run.step(
        "s",
        type="llm_call",
        input={"i": 1},
        parent=parent,
        model="m",
        vendor="v",
        payload={"p": 1},
        step_id=uuid.UUID(int=3),
        started_at=AT,
    )
    error = ErrorInfo("boom", "E")
    step.end(
        {"o": 1},
        status="failed",
        error=error,
        input_tokens=4,
        output_tokens=5,
        cost=0.5,
        model="m2",
        vendor="v2",
        payload={"p": 2},
        ended_at=LATER,
    )
    run.vendor_usage("search", calls=2, errors=1, rate_limit_hits=3, input_tokens=6,
                     output_tokens=7, cost=0.25)  # fmt: skip
    run.update(agent="bot2", tags=["u"])
    run.finish("failed", output={"a": 1}, error_code="E", error_message="m", finished_at=LATER)
    opened, started, ended, usage, updated, closed = (tuple(r) for r in queue)

    assert RawRunOpened._make(opened)._asdict() == {
        "kind": RUN_OPENED, "run_id": 1, "org": "acme", "agent": "bot", "user_id": "u",
        "conversation_id": "c", "input": {"q": 1}, "metadata": {"m": 1}, "tags": ["t"],
        "started_at": AT,
    }  # fmt: skip
    assert RawStepStarted._make(started)._asdict() == {
        "kind": STEP_STARTED, "step_id": 3, "run_id": 1, "parent_id": parent, "name": "s",
        "type": "llm_call", "input": {"i": 1}, "payload": {"p": 1}, "model": "m",
        "vendor": "v", "started_at": AT,
    }  # fmt: skip
    assert RawStepEnded._make(ended)._asdict() == {
        "kind": STEP_ENDED, "step_id": 3, "run_id": 1, "status": "failed", "output": {"o": 1},
        "payload": {"p": 2}, "model": "m2", "vendor": "v2", "input_tokens": 4,
        "output_tokens": 5, "cost": 0.5, "error": error, "ended_at": LATER, "started_at": AT,
    }  # fmt: skip
    assert RawVendorUsed._make(usage)._asdict() == {
        "kind": VENDOR_USED, "run_id": 1, "vendor": "search", "calls": 2, "errors": 1,
        "rate_limit_hits": 3, "input_tokens": 6, "output_tokens": 7, "cost": 0.25,
    }  # fmt: skip
    assert RawRunUpdated._make(updated)._asdict() == {
        "kind": RUN_UPDATED, "run_id": 1, "changes": {"agent": "bot2", "tags": ["u"]},
    }  # fmt: skip
    assert RawRunClosed._make(closed)._asdict() == {
        "kind": RUN_CLOSED, "run_id": 1, "status": "failed", "output": {"a": 1},
        "error_code": "E", "error_message": "m", "finished_at": LATER,
    }  # fmt: skip


def test_a_step_ended_by_its_block_and_an_instant_step_follow_the_raw_layouts(
    rec: Recorder,
) -> None:
    queue = _queued(rec)
    run = rec.attach(uuid.UUID(int=1))
    with run.step("s") as step:
        step.output, step.model, step.vendor = {"o": 1}, "m", "v"
        step.input_tokens, step.output_tokens, step.cost = 1, 2, 0.5
    run.llm_call("m", vendor="v", input={"i": 1}, output={"o": 2}, input_tokens=3,
                 output_tokens=4, cost=0.75, latency_ms=10.0, name="call")  # fmt: skip
    _, ended, instant = (tuple(r) for r in queue)

    end = RawStepEnded._make(ended)
    assert len(ended) == len(RawStepEnded._fields)
    assert (end.kind, end.run_id, end.status, end.output, end.payload, end.error) == (
        STEP_ENDED, 1, "completed", {"o": 1}, None, None,
    )  # fmt: skip
    assert (end.model, end.vendor, end.input_tokens, end.output_tokens, end.cost) == (
        "m", "v", 1, 2, 0.5,
    )  # fmt: skip
    assert isinstance(end.ended_at, float) and isinstance(end.started_at, float)
    assert end.started_at < end.ended_at

    step_call = RawStepInstant._make(instant)
    assert len(instant) == len(RawStepInstant._fields)
    assert step_call._replace(step_id=0, started_at=0, ended_at=0)._asdict() == {
        "kind": STEP_INSTANT, "step_id": 0,
        "run_id": 1, "parent_id": None, "name": "call", "type": "llm_call", "input": {"i": 1},
        "payload": None, "model": "m", "vendor": "v", "started_at": 0, "status": "completed",
        "output": {"o": 2}, "input_tokens": 3, "output_tokens": 4, "cost": 0.75,
        "error": None, "ended_at": 0,
    }  # fmt: skip
    assert isinstance(step_call.ended_at, float) and isinstance(step_call.started_at, float)
    assert step_call.ended_at - step_call.started_at == pytest.approx(0.010)


def test_the_writer_turns_raw_records_into_wire_records_field_by_field(rec: Recorder) -> None:
    queue = _queued(rec)
    run = rec.run("bot", input={"q": 1}, tags=["t"], run_id=uuid.UUID(int=1), started_at=AT)
    step = run.step("s", input={"i": 1}, model="m", step_id=uuid.UUID(int=3), started_at=AT)
    step.end({"o": 1}, error=ErrorInfo("boom", "E"), input_tokens=4, ended_at=LATER)
    run.thought("hm")
    opened, started, ended, instant = queue
    run_hex, step_hex = uuid.UUID(int=1).hex, uuid.UUID(int=3).hex

    wire_opened = prepare(opened, 0.0)
    assert wire_opened == RunOpened(
        RUN_OPENED, run_id=run_hex, org="acme", agent="bot", user_id=None,
        conversation_id=None, input='{"q":1}', metadata=None, tags=["t"],
        started_at=AT.timestamp(),
    )  # fmt: skip
    assert prepare(started, 0.0) == StepStarted(
        STEP_STARTED, step_id=step_hex, run_id=run_hex, parent_id=None, name="s", type="info",
        input='{"i":1}', payload=None, model="m", vendor=None, started_at=AT.timestamp(),
    )  # fmt: skip
    wire_ended = prepare(ended, 0.0)
    assert isinstance(wire_ended, StepEnded)
    assert wire_ended._replace(error_traceback=None) == StepEnded(
        STEP_ENDED, step_id=step_hex, run_id=run_hex, status="failed", output='{"o":1}',
        payload=None, model="m", vendor=None, input_tokens=4, output_tokens=None, cost=None,
        error_code="E", error_message="boom", error_traceback=None,
        ended_at=LATER.timestamp(), latency_ms=1000.0,
    )  # fmt: skip
    start, end = prepare_instant(instant, 0.0)
    assert (start.step_id, start.run_id, start.name, start.type) == (
        end.step_id, run_hex, "thought", "thought",
    )  # fmt: skip
    assert (start.payload, end.status) == ('{"text":"hm","reasoning":null}', "completed")


_LAYOUTS: dict[str, type[tuple[Any, ...]]] = {
    cls.__name__: cls for cls in (*WIRE_RECORDS.values(), *RAW_RECORDS.values())
}
_NAMING = re.compile(r"#\s*an? (\w+)")


def _unpackings() -> Iterator[tuple[str, str, list[str]]]:
    """(where, class name, target names) of every unpacking in the recorder's modules whose
    comment names the record it reads: `(_, step_id, ...) = record  # a RawStepStarted`."""
    for path in sorted(Path(tracewire.recorder.__file__).resolve().parent.glob("*.py")):
        source = path.read_text()
        comments = {
            token.start[0]: token.string
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT
        }
        for node in ast.walk(ast.parse(source)):
            if not (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Tuple)
                and isinstance(node.value, ast.Name)
                and node.end_lineno is not None
            ):
                continue
            naming = _NAMING.match(comments.get(node.end_lineno, ""))
            if naming is not None:
                names = [t.id if isinstance(t, ast.Name) else "?" for t in node.targets[0].elts]
                yield f"{path.name}:{node.lineno}", naming.group(1), names


def _reads(name: str, field: str) -> bool:
    """A local for `field`: its name, `_` (not read), `type_` (a builtin's name), or with a
    prefix (`end_payload`)."""
    return name in ("_", field, f"{field}_") or name.endswith(f"_{field}")


def test_the_writer_unpacks_each_record_into_locals_named_after_its_fields_in_order() -> None:
    unpackings = list(_unpackings())
    wrong = [
        (where, cls, names)
        for where, cls, names in unpackings
        if len(names) != len(_LAYOUTS[cls]._fields)  # type: ignore[attr-defined]
        or not all(map(_reads, names, _LAYOUTS[cls]._fields))  # type: ignore[attr-defined]
    ]
    assert wrong == []
    # The per-step code, at least, reads every kind it handles this way.
    assert {cls for _, cls, _ in unpackings} >= {
        "RawRunOpened", "RawRunClosed", "RawStepStarted", "RawStepEnded", "RawVendorUsed",
        "RawStepInstant", "RawRunUpdated", "StepStarted", "StepEnded",
    }  # fmt: skip


def _one_of_each() -> list[WireRecord]:
    run, step = "a" * 32, "b" * 32
    ended = StepEnded(
        STEP_ENDED, step, run, "completed", output='"ok"', payload=None, model=None,
        vendor="v", input_tokens=1, output_tokens=2, cost=0.5, error_code=None,
        error_message=None, error_traceback=None, ended_at=2.5, latency_ms=1000.0,
    )  # fmt: skip
    return [
        RunOpened(RUN_OPENED, run, "acme", "bot", None, "c", '{"q":1}', None, ["t"], 1.5),
        StepStarted(STEP_STARTED, step, run, None, "s", "info", None, '{"p":1}', "m", None, 1.5),
        ended,
        VendorUsed(VENDOR_USED, run, "search", 1, 0, 0, 0, 0, 0.0),
        ArtifactAdded(
            ARTIFACT_ADDED,
            "c" * 32,
            run,
            step,
            "output",
            "a.txt",
            "k",
            "text/plain",
            3,
            "ff",
            2.0,
        ),
        RunUpdated(RUN_UPDATED, run, {"metadata": '{"m":1}', "tags": ["u"]}),
        RunClosed(RUN_CLOSED, run, "completed", None, None, None, 3.5),
    ]


def test_one_wire_record_of_every_kind_is_made() -> None:
    assert {record.kind for record in _one_of_each()} == set(WIRE_RECORDS)


@pytest.mark.parametrize("record", _one_of_each(), ids=lambda r: type(r).__name__)
def test_a_wire_record_survives_the_json_round_trip_in_its_named_shape(
    record: WireRecord,
) -> None:
    back = wire_record(orjson.loads(orjson.dumps(record, default=tuple)))
    assert type(back) is type(record)
    assert back == record


def test_the_spool_gives_back_named_wire_records(tmp_path: Path) -> None:
    from tracewire.recorder._records import Batch

    records = _one_of_each()
    spool = Spool(tmp_path)
    spool.append(Batch("d" * 32, records))
    spool.close()
    (orphan,) = Orphan.adopt_all(tmp_path, tmp_path / "mine.spool")
    entry = orphan.peek()
    orphan.release()
    assert entry is not None
    batch, _ = entry
    assert [type(r) for r in batch.records] == [type(r) for r in records]
    assert batch.records == records


def test_a_list_of_no_known_kind_is_not_a_wire_record() -> None:
    with pytest.raises(ValueError, match="not a wire record"):
        wire_record([99, "x"])
    with pytest.raises(ValueError, match="not a wire record"):
        wire_record([])
