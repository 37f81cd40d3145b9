"""Strawberry's `MaskErrors`, minus its cost on every live message, plus a clear message for
an operation a websocket refuses.

The stock extension asks `isinstance(result, <runtime-checkable Protocol>)` for each
result it sees, which walks the protocol's attributes every time: 10-20 µs per message
per subscriber, a tenth of the live fan-out's CPU. Reading `errors` directly is enough.

The legacy graphql-ws protocol runs subscriptions only; Strawberry refuses a query or a
mutation sent over it with "queries are not allowed", which says neither where nor what to
do instead.
"""

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import MaskErrors

from tracewire.schema._errors import is_refused_operation

ONLY_SUBSCRIPTIONS = (
    "only subscriptions go over the graphql-ws protocol: send queries and mutations as "
    "HTTP POST /graphql, or over graphql-transport-ws"
)


class MaskInternalErrors(MaskErrors):
    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._explained(error) for error in super()._process_errors(errors)]

    def _explained(self, error: GraphQLError) -> GraphQLError:
        request = getattr(self.execution_context.context, "request", None)
        if not (is_refused_operation(error) and isinstance(request, WebSocket)):
            return error
        # graphql-transport-ws runs every operation type: only legacy graphql-ws refuses.
        return GraphQLError(
            ONLY_SUBSCRIPTIONS, nodes=error.nodes, source=error.source, positions=error.positions
        )
