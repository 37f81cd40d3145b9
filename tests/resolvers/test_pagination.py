"""Cursors are opaque round-trippable tokens, and anything else is refused clearly."""

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from tracewire.resolvers.errors import InvalidArgument
from tracewire.resolvers.pagination import Cursor


@pytest.mark.parametrize("value", [datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), 0, 41])
def test_a_cursor_decodes_to_what_was_encoded(value: datetime | int) -> None:
    cursor = Cursor(value, uuid.uuid4())

    assert Cursor.decode(cursor.encode()) == cursor


def encoded(fields: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "%%%",
        "bm90IGpzb24=",
        encoded(["t", "2026-05-01T12:00:00", str(uuid.uuid4())]),  # no time zone
        encoded(["i", "7", str(uuid.uuid4())]),
        encoded(["i", True, str(uuid.uuid4())]),
        encoded(["x", 7, str(uuid.uuid4())]),
        encoded(["i", 7, "not-a-uuid"]),
        encoded({"i": 7}),
    ],
)
def test_anything_but_a_cursor_is_an_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgument, match="not a cursor from this list"):
        Cursor.decode(text)
