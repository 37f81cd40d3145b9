"""QA sampling (seed 004): draw N runs or steps at random into a named bucket, each with a
checklist; a reviewer then records the verdict, the ticked checks and notes.

A subject is drawn at most once per bucket (a unique index, and the draw skips subjects
already in it), so drawing again tops a bucket up with new subjects.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import func, literal, null
from sqlalchemy.dialects.postgresql import JSONB

from tracewire.db.enums import QaResult
from tracewire.db.models import QaSample, Run, Step
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.errors import InvalidArgument, NotFound
from tracewire.resolvers.filters import (
    ALL_RUNS,
    ALL_STEPS,
    RunFilterSpec,
    StepSelection,
    check_storable,
    parse_id,
)
from tracewire.resolvers.pagination import Keyset, Page, paginate

MAX_DRAW = 100
MAX_SAMPLES_PER_PAGE = 200
MAX_CHECKS = 50
DEFAULT_CHECKLIST = ("correct", "complete", "grounded", "safe")
NEWEST_FIRST = Keyset(QaSample.created_at, QaSample.id, descending=True)
_COLUMNS = ["id", "org_id", "run_id", "step_id", "subject_id", "bucket", "checks"]


class QaSubject(StrEnum):
    RUN = "run"
    STEP = "step"


@dataclass(frozen=True, slots=True)
class QaDraw:
    """What to sample: `size` subjects matching `runs` (and, for steps, `steps`)."""

    bucket: str
    size: int
    subject: QaSubject = QaSubject.RUN
    runs: RunFilterSpec = ALL_RUNS
    steps: StepSelection = ALL_STEPS
    checklist: tuple[str, ...] = field(default=DEFAULT_CHECKLIST)

    def __post_init__(self) -> None:
        if not self.bucket.strip() or len(self.bucket) > 100:
            raise InvalidArgument("bucket must be 1 to 100 characters, not blank")
        if not 1 <= self.size <= MAX_DRAW:
            raise InvalidArgument(f"size must be between 1 and {MAX_DRAW}, got {self.size}")
        _check_names(self.checklist)
        check_storable("bucket", self.bucket)


def _check_names(names: Sequence[str]) -> None:
    if len(names) > MAX_CHECKS:
        raise InvalidArgument(f"a checklist has at most {MAX_CHECKS} checks")
    if len(set(names)) != len(names) or any(not n.strip() or len(n) > 200 for n in names):
        raise InvalidArgument("checks must have distinct names of 1 to 200 characters")
    check_storable("checks", list(names))


async def draw_samples(context: Context, draw: QaDraw) -> list[QaSample]:
    caller = context.caller
    checks = literal([{"name": name, "passed": None} for name in draw.checklist], JSONB)
    taken = scope.columns(caller, QaSample, QaSample.subject_id).where(
        QaSample.bucket == draw.bucket
    )
    bucket = literal(draw.bucket)
    source: Any
    if draw.subject is QaSubject.RUN:
        source = draw.runs.apply(
            caller,
            scope.columns(
                caller,
                Run,
                func.gen_random_uuid(),
                Run.org_id,
                Run.id,
                null(),
                Run.id,
                bucket,
                checks,
            ),
        ).where(Run.id.not_in(taken))
    else:
        runs = draw.runs.apply(caller, scope.columns(caller, Run, Run.id))
        source = scope.columns(
            caller,
            Step,
            func.gen_random_uuid(),
            Step.org_id,
            Step.run_id,
            Step.id,
            Step.id,
            bucket,
            checks,
        ).where(Step.run_id.in_(runs), Step.id.not_in(taken), *draw.steps.clauses())
    stmt = (
        scope.copies(caller, QaSample, source.order_by(func.random()).limit(draw.size), _COLUMNS)
        .on_conflict_do_nothing()
        .returning(QaSample)
    )
    async with context.sessions.begin() as session:
        drawn = list((await session.scalars(stmt)).all())
    return sorted(drawn, key=lambda s: s.id)


async def record_result(
    context: Context,
    sample_id: str,
    *,
    result: QaResult,
    checks: Sequence[tuple[str, bool | None]] | None,
    notes: str | None,
) -> QaSample:
    """Record a reviewer's verdict; `checks` (when given) replaces the checklist's ticks."""
    key = parse_id(sample_id)
    if key is None:
        raise NotFound("QA sample", sample_id)
    values: dict[str, Any] = {"result": result.value, "notes": notes, "reviewed_at": func.now()}
    if checks is not None:
        _check_names([name for name, _ in checks])
        values["checks"] = [{"name": name, "passed": passed} for name, passed in checks]
    if notes is not None and len(notes) > 10_000:
        raise InvalidArgument("notes are limited to 10000 characters")
    check_storable("notes", notes)
    stmt = (
        scope.changes(context.caller, QaSample)
        .where(QaSample.id == key)
        .values(**values)
        .returning(QaSample)
    )
    async with context.sessions.begin() as session:
        sample = (await session.scalars(stmt)).one_or_none()
    if sample is None:
        raise NotFound("QA sample", sample_id)
    return sample


async def list_samples(
    context: Context,
    *,
    bucket: str | None,
    result: QaResult | None,
    run_id: str | None,
    first: int,
    after: str | None,
) -> Page[QaSample]:
    check_storable("bucket", bucket)
    stmt = scope.rows(context.caller, QaSample)
    if bucket is not None:
        stmt = stmt.where(QaSample.bucket == bucket)
    if result is not None:
        stmt = stmt.where(QaSample.result == result.value)
    if run_id is not None:
        key = parse_id(run_id)
        stmt = stmt.where(QaSample.run_id == key) if key else stmt.where(QaSample.id.is_(None))
    return await paginate(
        context.sessions,
        stmt,
        NEWEST_FIRST,
        first=first,
        after=after,
        max_first=MAX_SAMPLES_PER_PAGE,
    )
