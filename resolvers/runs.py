"""Reading runs: the filtered newest-first list and a single run by id."""

from tracewire.db.models import Run
from tracewire.resolvers import scope
from tracewire.resolvers.context import Context
from tracewire.resolvers.filters import ALL_RUNS, RunFilterSpec, parse_id
from tracewire.resolvers.pagination import Keyset, Page, paginate

MAX_RUNS_PER_PAGE = 200
NEWEST_FIRST = Keyset(Run.created_at, Run.id, descending=True)


async def list_runs(
    context: Context,
    *,
    first: int,
    after: str | None,
    spec: RunFilterSpec = ALL_RUNS,
) -> Page[Run]:
    return await paginate(
        context.sessions,
        spec.apply(context.caller, scope.rows(context.caller, Run)),
        NEWEST_FIRST,
        first=first,
        after=after,
        max_first=MAX_RUNS_PER_PAGE,
    )


async def get_run(context: Context, run_id: str) -> Run | None:
    """The run, or None if there is none with that id in the caller's organization."""
    key = parse_id(run_id)
    if key is None:
        return None  # no run can have that id
    return await context.loaders.runs_by_id.load(key)
