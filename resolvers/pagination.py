"""Keyset pagination, the one implementation behind every connection.

A cursor is the opaque base64 of a row's (sort value, id). The page after it is
`WHERE (sort, id) > (value, id) ORDER BY sort, id LIMIT first + 1` (`<` and DESC for
newest-first lists): rows inserted or deleted meanwhile never shift a page, and a deep page
costs what the first one does, unlike OFFSET.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Integer, Select, func, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from tracewire.resolvers.errors import InvalidArgument
from tracewire.resolvers.filters import check_time

T = TypeVar("T")
SortValue = datetime | int
_INT4 = range(-(2**31), 2**31)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a list: the sort value and id of the row just before the next page."""

    value: SortValue
    id: uuid.UUID

    def encode(self) -> str:
        if isinstance(self.value, datetime):
            fields: list[object] = ["t", self.value.isoformat(), str(self.id)]
        else:
            fields = ["i", self.value, str(self.id)]
        return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        try:
            kind, raw, raw_id = json.loads(base64.urlsafe_b64decode(text.encode()))
            if kind == "t":
                moment = datetime.fromisoformat(raw)
                check_time("a cursor's time", moment)
                value: SortValue = moment
            elif kind == "i" and type(raw) is int:
                value = raw
            else:
                raise ValueError(kind)
            return cls(value, uuid.UUID(raw_id))
        except (ValueError, TypeError, binascii.Error, InvalidArgument) as exc:
            raise InvalidArgument(f"not a cursor from this list: {text!r:.200}") from exc


@dataclass(frozen=True, slots=True)
class Keyset:
    """How a list is ordered: by `sort`, ties broken by `id`.

    `unique` says `sort` alone is unique within the list (a run's step `seq`): then only the
    sort column is compared and ordered on, so a plain index on it serves the query.
    """

    sort: InstrumentedAttribute[Any]
    id: InstrumentedAttribute[uuid.UUID]
    descending: bool = False
    unique: bool = False

    def order_by(self) -> list[ColumnElement[Any]]:
        columns = [self.sort] if self.unique else [self.sort, self.id]
        return [c.desc() if self.descending else c.asc() for c in columns]

    def after(self, cursor: Cursor) -> ColumnElement[bool]:
        if not isinstance(cursor.value, self.sort.type.python_type):
            raise InvalidArgument("that cursor belongs to a different list")
        sort_type = self.sort.type
        if (
            isinstance(sort_type, Integer)
            and not isinstance(sort_type, BigInteger)
            and cursor.value not in _INT4
        ):
            # No row of this list has such a position (the column is 32-bit).
            raise InvalidArgument("that cursor belongs to a different list")
        if self.unique:
            key: ColumnElement[Any] = self.sort.expression
            position: ColumnElement[Any] = literal(cursor.value, self.sort.type)
        else:
            key, position = tuple_(self.sort, self.id), tuple_(cursor.value, cursor.id)
        return key < position if self.descending else key > position

    def cursor(self, row: object) -> Cursor:
        return Cursor(getattr(row, self.sort.key), getattr(row, self.id.key))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of rows with their cursors. `count` runs a COUNT over the whole filtered
    list, so a client that does not ask for the total does not pay for it."""

    rows: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]


async def paginate(
    sessions: async_sessionmaker[AsyncSession],
    stmt: Select[T],
    keyset: Keyset,
    *,
    first: int,
    after: str | None,
    max_first: int,
) -> Page[T]:
    """The `first` rows of `stmt` (already filtered and org-scoped) after cursor `after`."""
    check_first(first, max_first)
    page_stmt = stmt.order_by(*keyset.order_by()).limit(first + 1)
    if after is not None:
        page_stmt = page_stmt.where(keyset.after(Cursor.decode(after)))
    async with sessions() as session:
        found = list((await session.scalars(page_stmt)).all())

    async def count() -> int:
        count_stmt = stmt.with_only_columns(func.count(), maintain_column_froms=True)
        async with sessions() as session:
            return (await session.execute(count_stmt)).scalar_one()

    return page_of(found, keyset, first=first, after=after, count=count)


def check_first(first: int, max_first: int) -> None:
    if not 1 <= first <= max_first:
        raise InvalidArgument(f"first must be between 1 and {max_first}, got {first}")


def page_of(
    found: list[T],
    keyset: Keyset,
    *,
    first: int,
    after: str | None,
    count: Callable[[], Awaitable[int]],
) -> Page[T]:
    """A page from up to `first + 1` rows fetched in keyset order (the extra row only says
    that a next page exists). DataLoaders that fetch the first pages of many lists in one
    query build each list's page with this."""
    rows = found[:first]
    return Page(
        rows=rows,
        cursors=[keyset.cursor(row).encode() for row in rows],
        has_next_page=len(found) > first,
        has_previous_page=after is not None,
        count=count,
    )
