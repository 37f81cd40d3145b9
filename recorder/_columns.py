"""Which columns the Postgres sink fills, worked out by name from the tables (`db.models`)
and the wire records (`_records`): a record's field fills the column of its name, so
neither a table's column list nor a record's layout is restated in the sink. The sink's
statements and column lists are made at import (a RUN_UPDATED's alone per record: it
names its own columns), so a field that names no column, or a column that nothing fills
and that has no default, fails there rather than at the first batch.

Loads SQLAlchemy (for the models): imported by the Postgres sink's modules only.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql

from tracewire.db.models import Base

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


class Fill(NamedTuple):
    """The columns some of a record's fields fill, and the getter of those fields' values
    (a tuple, in `columns` order) from a record."""

    columns: tuple[str, ...]
    values: Callable[[Sequence[Any]], tuple[Any, ...]]


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def fill(
    model: type[Base],
    record: type[tuple[Any, ...]],
    *,
    renamed: Mapping[str, str] | None = None,
    besides: Collection[str] = (),
    ignored: Collection[str] = ("kind",),
) -> Fill:
    """The columns of `model`'s table that `record`'s fields name, in the record's order.

    `renamed` maps a field to the column it fills under another name (`step_id` → `id`);
    `besides` are columns filled otherwise (computed, or from another record), whose fields
    are left out; `ignored` are fields that fill no column (a wire record's kind)."""
    renamed = renamed or {}
    table = table_of(model)
    picked: list[tuple[int, str]] = []
    for index, field in enumerate(record._fields):  # type: ignore[attr-defined]
        column = renamed.get(field, field)
        if field in ignored or column in besides:
            continue
        if column not in table.c:
            raise LookupError(f"{record.__name__}.{field} names no column of {table.name}")
        picked.append((index, column))
    if not picked:
        raise LookupError(f"{record.__name__} fills no column of {table.name}")
    get = itemgetter(*(index for index, _ in picked))
    values = get if len(picked) > 1 else lambda r: (get(r),)
    return Fill(tuple(column for _, column in picked), values)


def checked(model: type[Base], columns: Sequence[str], *, every: bool = False) -> tuple[str, ...]:
    """`columns`, once each, all of `model`'s table; with `every`, all of its columns, else
    all but some that may be NULL or have a server default (left to the database)."""
    table = table_of(model)
    if len(set(columns)) != len(columns):
        raise LookupError(f"a column of {table.name} is filled twice: {columns}")
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise LookupError(f"{table.name} has no columns {sorted(unknown)}")
    left = [
        c
        for c in table.c
        if c.name not in columns and (every or (c.server_default is None and not c.nullable))
    ]
    if left:
        raise LookupError(f"nothing fills {table.name}.{', '.join(c.name for c in left)}")
    return tuple(columns)


def insert(model: type[Base], columns: Sequence[str], *, then: str = "DO NOTHING") -> str:
    """INSERT of one row of `columns` from $1, $2... in that order, `ON CONFLICT (the
    primary key) {then}`. A NULL given for a NOT NULL column with a server default stores
    the default."""
    table = table_of(model)
    values = ", ".join(_value(table.c[c], i) for i, c in enumerate(checked(model, columns), 1))
    key = ", ".join(c.name for c in table.primary_key)
    return (
        f"INSERT INTO {table.name} AS t ({', '.join(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({key}) {then}"
    )


def update(
    model: type[Base],
    key: str,
    columns: Sequence[str],
    values: Mapping[str, str] | None = None,
    *,
    also: str | None = None,
) -> str:
    """UPDATE of the row whose `key` is $1, setting `columns` from $2, $3... in that order.
    `values` gives a column's expression where it is not its parameter alone, with `{}`
    where the parameter goes; `also` is more assignments, of no parameter."""
    values = values or {}
    table = table_of(model)
    unknown = {key, *columns, *values} - set(table.c.keys())
    if unknown:
        raise LookupError(f"{table.name} has no columns {sorted(unknown)}")
    sets = ", ".join(
        f"{c} = {values.get(c, '{}').format(f'${i}')}" for i, c in enumerate(columns, 2)
    )
    if also:
        sets = f"{sets}, {also}"
    return f"UPDATE {table.name} SET {sets} WHERE {key} = $1"


def sql_type(column: Column[Any]) -> str:
    """The column's type as Postgres spells it (`JSONB`, `TIMESTAMP WITH TIME ZONE`...)."""
    return str(column.type.compile(dialect=_DIALECT))


def _value(column: Column[Any], index: int) -> str:
    default = column.server_default
    if default is None or column.nullable:
        return f"${index}"
    arg = getattr(default, "arg", None)
    if isinstance(arg, str):
        given = "'" + arg.replace("'", "''") + "'"
    else:
        given = str(arg.compile(dialect=_DIALECT))  # type: ignore[union-attr]
    return f"COALESCE(${index}::{sql_type(column)}, {given})"
