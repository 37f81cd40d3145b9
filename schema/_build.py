"""The schema object: the root types, the per-operation context, and limits on what one
document may ask for. Built on first use of `tracewire.schema.schema`."""

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from tracewire.resolvers.errors import UserError
from tracewire.schema._mask_errors import MaskInternalErrors
from tracewire.schema._operation_scope import OperationScope
from tracewire.schema._shared_execution import SharedEventExecutor
from tracewire.schema.types import Query
from tracewire.schema.types.mutation import Mutation
from tracewire.schema.types.subscription import Subscription

# Deep enough for run → steps → edges → node → field plus fragments; the list caps
# (`first`) bound the width, these bound the shape.
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000


def _is_internal(error: GraphQLError) -> bool:
    """Mask resolver failures other than `UserError`. Validation errors have no original;
    a variable that does not coerce (an unknown enum value) has a `GraphQLError` one."""
    original = error.original_error
    return original is not None and not isinstance(original, UserError | GraphQLError)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    execution_context_class=SharedEventExecutor,
    extensions=[
        OperationScope,
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(MaskInternalErrors, should_mask_error=_is_internal),
    ],
)
