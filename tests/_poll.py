"""Waiting for a condition with a deadline instead of sleeping for a guessed time: the one
helper the suite polls with. A loaded machine only makes the wait longer, never the test
fail, as long as the deadline is generous; the condition is checked once more after the
deadline, so a slow check is not what runs out the clock."""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

# Far above what any condition takes on an idle machine: a deadline only bounds a hang.
DEFAULT_WITHIN = 30.0
DEFAULT_EVERY = 0.05


def _failure(what: str | Callable[[], str], within: float) -> AssertionError:
    described = what() if callable(what) else what
    return AssertionError(f"not within {within:g} s: {described}")


@overload
async def wait_until(
    check: Callable[[], Awaitable[T | None]],
    *,
    within: float = ...,
    every: float = ...,
    what: str | Callable[[], str] = ...,
) -> T: ...


@overload
async def wait_until(
    check: Callable[[], T | None],
    *,
    within: float = ...,
    every: float = ...,
    what: str | Callable[[], str] = ...,
) -> T: ...


async def wait_until(
    check: Callable[[], object],
    *,
    within: float = DEFAULT_WITHIN,
    every: float = DEFAULT_EVERY,
    what: str | Callable[[], str] = "the condition",
) -> object:
    """The first truthy value of `check()` (awaited when it returns an awaitable), tried
    every `every` s; an AssertionError saying `what` (a text, or a function giving one,
    e.g. a server's log tail) when it is still falsy after `within` s."""
    deadline = time.monotonic() + within
    while True:
        past_deadline = time.monotonic() >= deadline
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if past_deadline:
            raise _failure(what, within)
        await asyncio.sleep(every)


def wait_until_blocking(
    check: Callable[[], T | None],
    *,
    within: float = DEFAULT_WITHIN,
    every: float = DEFAULT_EVERY,
    what: str | Callable[[], str] = "the condition",
) -> T:
    """`wait_until` for synchronous tests and threads: blocks between tries."""
    deadline = time.monotonic() + within
    while True:
        past_deadline = time.monotonic() >= deadline
        result = check()
        if result:
            return result
        if past_deadline:
            raise _failure(what, within)
        time.sleep(every)
