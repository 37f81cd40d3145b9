"""The wake-up message: any number of runs fits Postgres's NOTIFY limit, and reads back."""

import uuid

import pytest

from tracewire.db import notify


def test_many_runs_are_split_into_payloads_under_the_notify_limit_and_read_back() -> None:
    ranges = [(uuid.uuid4(), uuid.uuid4(), n, n + 10) for n in range(1000)]
    payloads = notify.payloads(ranges)
    assert len(payloads) > 1
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert [entry for p in payloads for entry in notify.parse(p)] == ranges


def test_a_message_that_is_not_ours_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a run-events notification"):
        notify.parse('{"hello": 1}')
