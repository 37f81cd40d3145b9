"""Internal failures reach clients as "Unexpected error.", in queries and in live streams;
errors meant for the user keep their message."""

from collections.abc import AsyncGenerator
from functools import partial

import strawberry

from tracewire.resolvers.errors import UserError
from tracewire.schema._errors import is_internal
from tracewire.schema._mask_errors import MaskInternalErrors


@strawberry.type
class Query:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("password=hunter2 in a stack trace")

    @strawberry.field
    def refused(self) -> str:
        raise UserError("afterSeq must be 0 or more")


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 1
        raise RuntimeError("connection string leaked")


schema = strawberry.Schema(
    query=Query,
    subscription=Subscription,
    extensions=[partial(MaskInternalErrors, should_mask_error=is_internal)],
)


async def test_a_query_shows_user_errors_and_masks_internal_ones() -> None:
    result = await schema.execute("{ broken }")
    assert [e.message for e in result.errors or []] == ["Unexpected error."]
    result = await schema.execute("{ refused }")
    assert [e.message for e in result.errors or []] == ["afterSeq must be 0 or more"]


async def test_a_subscription_that_fails_midway_shows_only_the_masked_error() -> None:
    stream = await schema.subscribe("subscription { ticks }")
    results = [result async for result in stream]
    assert results[0].data == {"ticks": 1}
    assert [e.message for e in results[-1].errors or []] == ["Unexpected error."]
