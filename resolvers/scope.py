"""The one door to the tables: statements start here, already filtered to the caller's
organization (reads, updates) or stamped with it (inserts), so a resolver cannot forget the
org filter. Other modules under `resolvers/` do not import `select`, `insert`, `update`,
`delete` or `text` (a test checks), which keeps this the only way in.
"""

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, Update, func, select, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import InstrumentedAttribute, aliased

from tracewire.db.models import (
    Artifact,
    QaSample,
    RecorderHealth,
    Run,
    RunEvent,
    RunVendorUsage,
    Step,
)
from tracewire.resolvers.caller import Caller

# Every org-owned table; a new one must be added here before resolvers can read it.
Scoped = TypeVar("Scoped", Run, Step, RunEvent, Artifact, RunVendorUsage, QaSample, RecorderHealth)


def rows(caller: Caller, model: type[Scoped]) -> Select[Scoped]:
    """`SELECT model FROM ... WHERE org_id = caller's org`."""
    return select(model).where(model.org_id == caller.org_id)


def columns(
    caller: Caller, model: type[Scoped], *cols: SQLColumnExpression[Any]
) -> Select[*tuple[Any, ...]]:
    """`SELECT cols FROM model WHERE org_id = caller's org`, for aggregates and projections."""
    return select(*cols).select_from(model).where(model.org_id == caller.org_id)


def changes(caller: Caller, model: type[Scoped]) -> Update:
    """`UPDATE model ... WHERE org_id = caller's org`: rows of other orgs are never touched."""
    return update(model).where(model.org_id == caller.org_id)


def additions(caller: Caller, model: type[Scoped], **values: Any) -> Insert:
    """`INSERT INTO model` with `org_id` set to the caller's org (never taken from input)."""
    if "org_id" in values:
        raise ValueError("org_id comes from the caller, not from the values")
    return insert(model).values(org_id=caller.org_id, **values)


def copies(caller: Caller, model: type[Scoped], source: Select[Any], names: list[str]) -> Insert:
    """`INSERT INTO model (names) SELECT ...` for a `source` built from this module's scoped
    selects; `org_id` must be among `names`, and `source` supplies the caller's org for it."""
    if "org_id" not in names:
        raise ValueError("an INSERT ... SELECT must write org_id")
    return insert(model).from_select(names, source)


def first_per(
    caller: Caller,
    model: type[Scoped],
    group: InstrumentedAttribute[Any],
    order: InstrumentedAttribute[Any],
    limit: int,
    *where: ColumnElement[bool],
) -> Select[Scoped]:
    """The first `limit` rows of each `group` in `order` (a window function: one query for
    the first page of many lists, as DataLoaders need), ordered by group then order."""
    rank = func.row_number().over(partition_by=group, order_by=order).label("rank")
    ranked = rows(caller, model).add_columns(rank).where(*where).subquery()
    entity = aliased(model, ranked)
    return (
        select(entity)
        .where(ranked.c.rank <= limit)
        .order_by(getattr(entity, group.key), getattr(entity, order.key))
    )
