"""Reading steps: a run's steps in `seq` order, optionally of some types only."""

import uuid
from collections.abc import Collection

from api.context import Context
from db.enums import StepType
from db.models import Step
from resolvers import scope
from resolvers.pagination import Keyset, Page, paginate

MAX_STEPS_PER_PAGE = 1000
# seq is unique within a run, so the (run_id, seq) unique index serves the page query.
IN_SEQ_ORDER = Keyset(Step.seq, Step.id, unique=True)


async def list_steps(
    context: Context,
    run_id: uuid.UUID,
    *,
    first: int,
    after: str | None,
    types: Collection[StepType] | None = None,
) -> Page[Step]:
    stmt = scope.rows(context.caller, Step).where(Step.run_id == run_id)
    if types is not None:
        stmt = stmt.where(Step.type.in_([t.value for t in types]))
    return await paginate(
        context.sessions, stmt, IN_SEQ_ORDER, first=first, after=after, max_first=MAX_STEPS_PER_PAGE
    )
