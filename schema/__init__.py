"""The GraphQL schema: the root types, plus limits on what one document may ask for.

The committed SDL (`schema/schema.graphql`) is regenerated with
`strawberry export-schema schema:schema > schema/schema.graphql`.
"""

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from api.context import OperationScope
from resolvers.errors import UserError
from schema._mask_errors import MaskInternalErrors
from schema._shared_execution import SharedEventExecutor
from schema.types import Query
from schema.types.mutation import Mutation
from schema.types.subscription import Subscription

__all__ = ["schema"]

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
