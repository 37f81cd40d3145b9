"""The Postgres sink's column lists come from the models and the wire records, by name
(`recorder._columns`), and a mismatch fails at import."""

from typing import Any, NamedTuple

import pytest

from tracewire.db.models import RunEvent, Step
from tracewire.recorder import _columns
from tracewire.recorder._batch_plan import EVENT_COLUMNS, STEP_COLUMNS, Event, RunDelta, plan
from tracewire.recorder._records import STEP_ENDED, STEP_STARTED, StepEnded, StepStarted


def test_steps_are_copied_with_every_model_column_and_events_with_all_but_created_at() -> None:
    assert sorted(STEP_COLUMNS) == sorted(Step.__table__.columns.keys())
    assert sorted(EVENT_COLUMNS) == sorted(set(RunEvent.__table__.columns.keys()) - {"created_at"})


def _step_row(start: StepStarted, end: StepEnded | None, org_id: str, seq: int) -> Any:
    (row,) = RunDelta(new_steps=[(start, end)]).step_rows(org_id, seq)
    return row


def _sentinels(cls: type[Any], prefix: str, **given: Any) -> Any:
    return cls._make(given.get(f, f"{prefix}.{f}") for f in cls._fields)


def test_a_step_row_puts_each_field_of_the_start_and_end_in_the_column_of_its_name() -> None:
    start = _sentinels(StepStarted, "start", kind=STEP_STARTED, payload=None)
    end = _sentinels(StepEnded, "end", kind=STEP_ENDED, payload='{"p":1}')
    row = dict(zip(STEP_COLUMNS, _step_row(start, end, "org", 7), strict=True))
    worked_out = {"id": "start.step_id", "org_id": "org", "seq": 7, "payload": '{"p":1}'}
    for column, value in row.items():
        if column in worked_out:
            assert value == worked_out[column], column
        elif column in StepEnded._fields and column not in ("run_id",):
            assert value == f"end.{column}", column
        else:
            assert value == f"start.{column}", column


def test_a_step_that_has_not_ended_is_running_with_nothing_in_the_ends_columns() -> None:
    start = _sentinels(StepStarted, "start", kind=STEP_STARTED, payload=None, model=None)
    row = dict(zip(STEP_COLUMNS, _step_row(start, None, "org", 1), strict=True))
    assert (row["status"], row["payload"], row["model"], row["vendor"]) == (
        "running",
        "{}",
        None,
        "start.vendor",
    )
    only_at_the_end = set(StepEnded._fields) - set(StepStarted._fields) - {"status"}
    assert {c: row[c] for c in only_at_the_end & row.keys()} == dict.fromkeys(
        only_at_the_end & row.keys()
    )


def test_an_event_row_follows_the_event_columns() -> None:
    event = Event("step_started", "s", "a", "{}")
    (values,) = RunDelta(events=[event]).event_rows("r", "o", 3)
    row = dict(zip(EVENT_COLUMNS, values, strict=True))
    assert row == {
        "run_id": "r",
        "seq": 3,
        "org_id": "o",
        "kind": "step_started",
        "step_id": "s",
        "artifact_id": "a",
        "data": "{}",
    }


def test_the_events_a_batch_plans_follow_the_event_layout() -> None:
    start = _sentinels(StepStarted, "start", kind=STEP_STARTED, run_id="r", type="info")
    running = _sentinels(StepStarted, "other", kind=STEP_STARTED, run_id="r", type="info")
    end = _sentinels(StepEnded, "end", kind=STEP_ENDED, run_id="r", step_id=start.step_id)
    end = end._replace(status="completed", input_tokens=None, output_tokens=None, cost=None)
    (delta,) = plan([start, running, end]).values()
    finished, started = (Event._make(event)._asdict() for event in delta.events)
    assert finished == {
        "kind": "step_finished",
        "step_id": "start.step_id",
        "artifact_id": None,
        "data": '{"status":"completed"}',
    }
    assert started == {
        "kind": "step_started",
        "step_id": "other.step_id",
        "artifact_id": None,
        "data": "{}",
    }


class _Misnamed(NamedTuple):
    kind: int
    step_id: str
    nmae: str


def test_a_record_field_that_names_no_column_fails() -> None:
    with pytest.raises(LookupError, match=r"_Misnamed\.nmae names no column of steps"):
        _columns.fill(Step, _Misnamed, renamed={"step_id": "id"})


def test_a_column_that_nothing_fills_and_that_has_no_default_fails() -> None:
    with pytest.raises(LookupError, match=r"nothing fills steps\.org_id"):
        _columns.checked(Step, [c for c in STEP_COLUMNS if c != "org_id"])
    with pytest.raises(LookupError, match=r"nothing fills steps\.payload"):
        _columns.checked(Step, [c for c in STEP_COLUMNS if c != "payload"], every=True)
    # payload has a server default: an INSERT may leave it out
    _columns.checked(Step, [c for c in STEP_COLUMNS if c != "payload"])


def test_an_insert_stores_the_columns_default_for_a_null_given() -> None:
    sql = _columns.insert(RunEvent, ("run_id", "seq", "org_id", "kind", "data"))
    assert sql == (
        "INSERT INTO run_events AS t (run_id, seq, org_id, kind, data) "
        "VALUES ($1, $2, $3, $4, COALESCE($5::JSONB, '{}'::jsonb)) "
        "ON CONFLICT (run_id, seq) DO NOTHING"
    )


def test_an_update_sets_columns_from_the_second_parameter_on() -> None:
    sql = _columns.update(Step, "id", ("status", "model"), {"model": "COALESCE({}, model)"})
    assert sql == "UPDATE steps SET status = $2, model = COALESCE($3, model) WHERE id = $1"
