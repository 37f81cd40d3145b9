"""Which runs a list, an export, a QA draw or the stats look at: one validated filter,
turned into WHERE clauses in one place.

The GraphQL `RunFilter` input and the CSV export's query parameters both become a
`RunFilterSpec`, so the two can never disagree about what "failed node" or "last 24 hours"
means.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_

from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.db.models import Run, Step
from tracewire.resolvers import scope
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.errors import InvalidArgument

# A year: enough for any dashboard, small enough that a typo is caught.
MAX_LAST_HOURS = 24 * 366
MAX_TEXT_LENGTH = 500
MAX_LIST_LENGTH = 100
# The deepest JSON value stored: what orjson, which writes every API response (and the
# recorder's values), nests at most.
MAX_JSON_DEPTH = 254
# Times a filter or cursor may name. Far wider than any run's, and far enough from years 1
# and 9999 that moving one to UTC or back by a year of hours never overflows `datetime`.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def check_time(name: str, moment: datetime) -> None:
    """Refuse a time without a zone, or outside [EARLIEST, LATEST]."""
    if moment.tzinfo is None:
        raise InvalidArgument(f"{name} needs a time zone (e.g. 2026-01-31T12:00:00Z)")
    if not EARLIEST <= moment <= LATEST:
        raise InvalidArgument(
            f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}, "
            f"got {moment.isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end): either bound may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(
        cls,
        start: datetime | None,
        end: datetime | None,
        last_hours: float | None,
        *,
        now: datetime | None = None,
    ) -> "TimeRange":
        for name, moment in (("from", start), ("to", end)):
            if moment is not None:
                check_time(name, moment)
        if last_hours is not None:
            if start is not None:
                raise InvalidArgument("give either lastHours or from, not both")
            if not 0 < last_hours <= MAX_LAST_HOURS:
                raise InvalidArgument(
                    f"lastHours must be more than 0 and at most {MAX_LAST_HOURS}, got {last_hours}"
                )
            start = (end or now or datetime.now(UTC)) - timedelta(hours=last_hours)
            check_time("to minus lastHours", start)
        if start is not None and end is not None and start >= end:
            raise InvalidArgument("from must be earlier than to")
        return cls(start, end)

    def clauses(self, column: Any) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.start is not None:
            found.append(column >= self.start)
        if self.end is not None:
            found.append(column < self.end)
        return found


def check_storable(name: str, value: Any) -> None:
    """Refuse NUL characters anywhere in a value: Postgres stores them neither in text nor in
    JSONB, and would fail the statement (a masked server error) instead of saying why. Refuse
    nesting deeper than `MAX_JSON_DEPTH` too: such a value could be stored but never read
    back. Walked with a stack, so no value is too deep to be checked."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidArgument(f"{name} must not contain NUL characters")
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise InvalidArgument(f"{name} nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        else:
            pending.extend((child, depth + 1) for child in item)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _checked_text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise InvalidArgument(f"{name} must not be blank")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidArgument(f"{name} is longer than {MAX_TEXT_LENGTH} characters")
    check_storable(name, value)
    return value


def _checked_list(name: str, values: Sequence[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if len(values) > MAX_LIST_LENGTH:
        raise InvalidArgument(f"{name} may list at most {MAX_LIST_LENGTH} values")
    for value in values:
        _checked_text(name, value)
    return tuple(values)


@dataclass(frozen=True, slots=True)
class RunFilterSpec:
    """A validated run filter; build it with `RunFilterSpec.of(...)`. Empty means all runs.

    Lists mean "any of" (statuses, agents) except `tags`, where a run must carry all."""

    statuses: tuple[RunStatus, ...] = ()
    agents: tuple[str, ...] = ()
    user_id: str | None = None
    conversation_id: str | None = None
    tags: tuple[str, ...] = ()
    failed_node: str | None = None
    created: TimeRange = TimeRange()
    error_text: str | None = None

    @classmethod
    def of(
        cls,
        *,
        statuses: Sequence[RunStatus] | None = None,
        agents: Sequence[str] | None = None,
        user_id: str | None = None,
        conversation_id: str | None = None,
        tags: Sequence[str] | None = None,
        failed_node: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        last_hours: float | None = None,
        error_text: str | None = None,
    ) -> "RunFilterSpec":
        if statuses is not None and len(statuses) > MAX_LIST_LENGTH:
            raise InvalidArgument(f"status may list at most {MAX_LIST_LENGTH} values")
        return cls(
            statuses=tuple(RunStatus(s) for s in statuses or ()),
            agents=_checked_list("agent", agents),
            user_id=_checked_text("userId", user_id),
            conversation_id=_checked_text("conversationId", conversation_id),
            tags=_checked_list("tags", tags),
            failed_node=_checked_text("failedNode", failed_node),
            created=TimeRange.of(start, end, last_hours),
            error_text=_checked_text("errorText", error_text),
        )

    def apply(self, caller: Caller, stmt: Select[Any]) -> Select[Any]:
        """`stmt` (a select over `runs`) narrowed to the runs this filter matches."""
        return stmt.where(*self.clauses(caller))

    def clauses(self, caller: Caller) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.statuses:
            found.append(Run.status.in_([s.value for s in self.statuses]))
        if self.agents:
            found.append(Run.agent.in_(self.agents))
        if self.user_id is not None:
            found.append(Run.user_id == self.user_id)
        if self.conversation_id is not None:
            found.append(Run.conversation_id == self.conversation_id)
        if self.tags:
            found.append(Run.tags.contains(list(self.tags)))
        found += self.created.clauses(Run.created_at)
        if self.failed_node is not None:
            found.append(Run.id.in_(_runs_where_node_failed(caller, self.failed_node)))
        if self.error_text is not None:
            pattern = _like_pattern(self.error_text)
            failing_steps = scope.columns(caller, Step, Step.run_id).where(
                Step.status == StepStatus.FAILED.value,
                or_(Step.error_message.ilike(pattern), Step.error_code.ilike(pattern)),
            )
            found.append(
                or_(
                    Run.error_message.ilike(pattern),
                    Run.error_code.ilike(pattern),
                    Run.id.in_(failing_steps),
                )
            )
        return found


def _runs_where_node_failed(caller: Caller, node: str) -> Select[Any]:
    return scope.columns(caller, Step, Step.run_id).where(
        Step.name == node,
        Step.type == StepType.NODE.value,
        Step.status == StepStatus.FAILED.value,
    )


@dataclass(frozen=True, slots=True)
class StepSelection:
    """Which of a run's steps a list shows: any of `types`, any of `nodes` (step names)."""

    types: tuple[StepType, ...] = ()
    nodes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, types: Collection[StepType] | None, nodes: Collection[str] | None
    ) -> "StepSelection":
        if types is not None and len(types) > MAX_LIST_LENGTH:
            raise InvalidArgument(f"types may list at most {MAX_LIST_LENGTH} values")
        return cls(
            tuple(sorted(types or ())), tuple(sorted(_checked_list("nodes", list(nodes or ()))))
        )

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.types:
            found.append(Step.type.in_([t.value for t in self.types]))
        if self.nodes:
            found.append(Step.name.in_(self.nodes))
        return found


ALL_RUNS = RunFilterSpec()
ALL_STEPS = StepSelection()


def parse_id(text: str) -> uuid.UUID | None:
    """An id argument as a UUID; None when it cannot be any row's id."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
