"""Refusing an ingested batch whose JSON values nest too deep to read back.

Postgres stores JSON nested thousands of levels deep, but every reader of it (asyncpg's
JSON decoder, the API's responses) stops at a few hundred: one such value would fail every
list that shows its run. The recorder never sends one (its serializer stops at
`MAX_JSON_DEPTH`); a batch from another client that does is refused as a whole (400)."""

import re

from tracewire.api.request_body import BodyError
from tracewire.recorder._records import RUN_UPDATED, WIRE_RECORDS, WireRecord
from tracewire.resolvers.filters import MAX_JSON_DEPTH

_JSON_FIELDS = frozenset({"input", "output", "metadata", "payload"})
# Per record kind: the positions and names of its JSON-text fields.
_FIELDS = {
    kind: [(index, name) for index, name in enumerate(cls._fields) if name in _JSON_FIELDS]
    for kind, cls in WIRE_RECORDS.items()
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def check_depth(records: list[WireRecord]) -> None:
    """`BodyError` 400 naming the first value that nests deeper than `MAX_JSON_DEPTH`."""
    for position, record in enumerate(records):
        fields = _FIELDS[record.kind]
        for index, name in fields:
            _check(position, name, record[index])
        if record.kind == RUN_UPDATED:
            for name, change in record.changes.items():
                if name in _JSON_FIELDS:
                    _check(position, name, change)


def _check(position: int, name: str, value: object) -> None:
    if isinstance(value, str) and nests_deeper(value, MAX_JSON_DEPTH):
        raise BodyError(
            400, f"records[{position}].{name} nests deeper than {MAX_JSON_DEPTH} levels"
        )


def nests_deeper(text: str, limit: int) -> bool:
    """Whether the JSON `text` has more than `limit` arrays/objects inside one another."""
    # Cheap for nearly every value: it cannot nest deeper than it has brackets.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
