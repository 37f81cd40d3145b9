"""The root query type: thin fields over `resolvers/`, grouped by domain."""

import strawberry
from strawberry.types import Info

from api.context import Context
from resolvers.runs import get_run, list_runs
from schema.types._field import field
from schema.types.pagination import Connection
from schema.types.run import Run


@strawberry.type
class Query:
    @field(description="Runs of the caller's organization, newest first.")
    async def runs(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[Run]:
        page = await list_runs(info.context, first=first, after=after)
        return Connection.from_page(page, Run.from_row)

    @field(description="A run of the caller's organization, or null.")
    async def run(self, info: Info[Context, None], id: strawberry.ID) -> Run | None:
        row = await get_run(info.context, id)
        return Run.from_row(row) if row is not None else None
