"""Reading runs: the newest-first list and a single run by id."""

import uuid

from api.context import Context
from db.models import Run
from resolvers import scope
from resolvers.pagination import Keyset, Page, paginate

MAX_RUNS_PER_PAGE = 200
NEWEST_FIRST = Keyset(Run.created_at, Run.id, descending=True)


async def list_runs(context: Context, *, first: int, after: str | None) -> Page[Run]:
    return await paginate(
        context.sessions,
        scope.rows(context.caller, Run),
        NEWEST_FIRST,
        first=first,
        after=after,
        max_first=MAX_RUNS_PER_PAGE,
    )


async def get_run(context: Context, run_id: str) -> Run | None:
    """The run, or None if there is none with that id in the caller's organization."""
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        return None  # no run can have that id
    async with context.sessions() as session:
        return await session.scalar(scope.rows(context.caller, Run).where(Run.id == key))
