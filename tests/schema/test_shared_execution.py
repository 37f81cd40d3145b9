"""Live events are executed once for every subscriber that asked the same thing, and
serialised once: what lets one server feed a hundred viewers of a busy run."""

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any

import pytest
import strawberry
from strawberry.types import Info

from tests._poll import wait_until_blocking
from tracewire.api._ws_frames import FrameEncoder
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.context import Context
from tracewire.schema._shared_execution import SharedEventExecutor, SharedRoots, live_roots


@strawberry.type
class Tick:
    n: int

    @strawberry.field
    def label(self, info: Info[Context, None]) -> str:
        info.context.operation_loaders  # noqa: B018 (each execution gets its own loaders)
        _executions.append(self.n)
        return f"tick {self.n}"


_executions: list[int] = []


@strawberry.type
class Query:
    ping: str = "pong"


class Feed:
    """Hands the same source object to every subscriber, as the hub does."""

    def __init__(self) -> None:
        self.subscribers: list[asyncio.Queue[list[int]]] = []
        self.round = uuid.uuid4()  # memo keys of one test only
        self.joined = asyncio.Condition()

    async def join(self, queue: asyncio.Queue[list[int]]) -> None:
        async with self.joined:
            self.subscribers.append(queue)
            self.joined.notify_all()

    async def wait_for(self, count: int) -> None:
        async with self.joined:
            await self.joined.wait_for(lambda: len(self.subscribers) >= count)

    def publish(self, source: list[int]) -> None:
        for queue in self.subscribers:
            queue.put_nowait(source)


_feed = Feed()


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, after: int = 0) -> AsyncGenerator[Tick, None]:
        queue: asyncio.Queue[list[int]] = asyncio.Queue()
        await _feed.join(queue)
        try:
            while True:
                source = await queue.get()
                yield live_roots.root_for((_feed.round, source[0]), partial(Tick, n=source[0]))
        finally:
            _feed.subscribers.remove(queue)


test_schema = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=SharedEventExecutor
)


def _context(org: uuid.UUID) -> Context:
    # The shared executor reads only the caller; the rest is never touched here.
    unused: Any = None
    return Context(
        request=unused,
        response=unused,
        sessions=unused,
        hub=unused,
        live_reader=unused,
        artifacts=unused,
        wakeups=unused,
        authenticated=Caller(org),
    )


async def _first_results(
    subscriptions: list[tuple[str, dict[str, Any], uuid.UUID]], events: int
) -> list[list[Any]]:
    streams = [
        await test_schema.subscribe(query, variable_values=variables, context_value=_context(org))
        for query, variables, org in subscriptions
    ]

    async def take(stream: Any) -> list[Any]:
        results = []
        async for result in stream:
            results.append(result)
            if len(results) == events:
                break
        return results

    tasks = [asyncio.create_task(take(stream)) for stream in streams]
    await _feed.wait_for(len(subscriptions))
    for n in range(events):
        _feed.publish([n])
    return list(await asyncio.gather(*tasks))


QUERY = "subscription ($after: Int) { ticks(after: $after) { n label } }"


@pytest.fixture(autouse=True)
def _reset() -> None:
    _executions.clear()
    _feed.round = uuid.uuid4()


async def test_subscribers_of_one_org_asking_the_same_fields_share_one_execution_per_event() -> (
    None
):
    org = uuid.uuid4()
    results = await _first_results([(QUERY, {"after": i}, org) for i in range(20)], events=3)
    assert _executions == [0, 1, 2]  # once per event, not once per subscriber
    for per_subscriber in results:
        assert [r.data for r in per_subscriber] == [
            {"ticks": {"n": n, "label": f"tick {n}"}} for n in range(3)
        ]
    first_event_data = {id(per_subscriber[0].data) for per_subscriber in results}
    assert len(first_event_data) == 1  # the very same object, so it is serialised once


async def test_other_orgs_and_other_selections_get_their_own_execution() -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    other_fields = "subscription { ticks { label } }"
    await _first_results([(QUERY, {}, org_a), (QUERY, {}, org_b), (other_fields, {}, org_a)], 1)
    assert _executions == [0, 0, 0]


async def test_a_variable_used_inside_the_selection_splits_the_sharing() -> None:
    org = uuid.uuid4()
    query = "subscription ($full: Boolean!) { ticks { n label @include(if: $full) } }"
    results = await _first_results(
        [(query, {"full": True}, org), (query, {"full": False}, org), (query, {"full": True}, org)],
        events=1,
    )
    assert _executions == [0]
    assert [r[0].data for r in results] == [
        {"ticks": {"n": 0, "label": "tick 0"}},
        {"ticks": {"n": 0}},
        {"ticks": {"n": 0, "label": "tick 0"}},
    ]


def test_next_frames_for_one_shared_payload_differ_only_in_their_operation_id() -> None:
    encoder = FrameEncoder()
    data = {"runEventBatches": {"events": [{"seq": 1, "kind": "STEP_FINISHED"}], "lastSeq": 1}}
    frames = [encoder.encode({"id": op, "type": "next", "payload": {"data": data}}) for op in "12"]
    assert [json.loads(frame) for frame in frames] == [
        {"id": op, "type": "next", "payload": {"data": data}} for op in "12"
    ]
    errors = {"id": "3", "type": "next", "payload": {"data": None, "errors": [{"message": "x"}]}}
    assert json.loads(encoder.encode(errors)) == errors


def test_a_memoised_root_is_rebuilt_once_it_is_older_than_its_max_age() -> None:
    # Kept while younger: an age no stall of a loaded machine reaches.
    young = SharedRoots(max_age=60)
    kept = young.root_for("range", lambda: Tick(n=1))
    assert young.root_for("range", lambda: Tick(n=2)) is kept

    # Rebuilt once older: a short age, waited out by asking until the root is a new one.
    roots = SharedRoots(max_age=0.05)
    first = roots.root_for("range", lambda: Tick(n=1))

    def rebuilt() -> Tick | None:
        root = roots.root_for("range", lambda: Tick(n=3))
        return None if root is first else root

    again = wait_until_blocking(rebuilt, every=0.01, what="the root rebuilt past its max_age")
    assert again.n == 3
    assert roots.executions(first) is None and roots.executions(again) == {}
