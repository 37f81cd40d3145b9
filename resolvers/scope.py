"""The one door to the tables: statements start here, already filtered to the caller's
organization, so a resolver cannot forget the org filter. Other modules under `resolvers/`
do not import `select` (a test checks), which keeps this the only way in.
"""

from typing import Any, TypeVar

from sqlalchemy import Select, SQLColumnExpression, select

from api.auth import Caller
from db.models import Artifact, Run, RunEvent, RunVendorUsage, Step

# Every org-owned table; a new one must be added here before resolvers can read it.
Scoped = TypeVar("Scoped", Run, Step, RunEvent, Artifact, RunVendorUsage)


def rows(caller: Caller, model: type[Scoped]) -> Select[Scoped]:
    """`SELECT model FROM ... WHERE org_id = caller's org`."""
    return select(model).where(model.org_id == caller.org_id)


def columns(
    caller: Caller, model: type[Scoped], *cols: SQLColumnExpression[Any]
) -> Select[*tuple[Any, ...]]:
    """`SELECT cols FROM model WHERE org_id = caller's org`, for aggregates and projections."""
    return select(*cols).select_from(model).where(model.org_id == caller.org_id)
