"""Relay-style connections. Every list is keyset-paginated (resolvers/pagination.py)."""

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from tracewire.resolvers.pagination import Page
from tracewire.schema.types._field import field

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="This page was asked for `after` one.")
    start_cursor: str | None = strawberry.field(description="The first item's cursor.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="An item of a page with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this item in the list.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list; pass `pageInfo.endCursor` as `after`.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items with their cursors.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @field(description="Every item of the list, not just this page.")
    async def total_count(self) -> int:
        return await self.count()

    @field(description="The items of this page (the edges' nodes).")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(cls, page: Page[RowT], to_node: Callable[[RowT], NodeT]) -> "Connection[NodeT]":
        return cls(
            edges=[
                Edge(cursor=cursor, node=to_node(row))
                for row, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            count=page.count,
        )
