"""The schema object: the root types, the per-operation context, and limits on what one
document may ask for. Built on first use of `tracewire.schema.schema`."""

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from tracewire.schema._errors import is_internal, log_errors
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


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)  # instead of a traceback at ERROR for each, the client's too


schema = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    execution_context_class=SharedEventExecutor,
    extensions=[
        OperationScope,
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(MaskInternalErrors, should_mask_error=is_internal),
    ],
)
