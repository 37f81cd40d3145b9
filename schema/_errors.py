"""Which GraphQL errors are the client's and which the server's, and how each is logged.

The client's (a `UserError` a resolver raised, a document that does not validate or exceeds
the limits, a variable that does not coerce, an operation type the transport does not take)
are answered with their message and logged at INFO, one line without a traceback: anyone
can send them, and a traceback each would bury the server's own faults. Everything else is
a fault of the server (the database away, a bug): masked for the client, logged at ERROR
with its traceback, once per result however many fields it broke.
"""

import logging
from collections.abc import Sequence

from graphql import GraphQLError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from tracewire.resolvers.errors import UserError

logger = logging.getLogger("tracewire.graphql")

# The originals of the client's errors, besides `UserError`: what Strawberry raises before
# execution for an operation type the transport does not take or an `operationName` the
# document does not have.
_CLIENTS = (UserError, GraphQLError, InvalidOperationTypeError, CannotGetOperationTypeError)
# A client's text in a log line: enough to recognise the mistake, not a way to fill the log.
_MAX_LOGGED_MESSAGE = 200


def is_internal(error: GraphQLError) -> bool:
    """A fault of the server rather than the client's. Validation errors have no original;
    a variable that does not coerce (an unknown enum value) has a `GraphQLError` one."""
    original = error.original_error
    return original is not None and not isinstance(original, _CLIENTS)


def is_refused_operation(error: GraphQLError) -> bool:
    """An operation type the transport does not take (a query sent where only
    subscriptions go)."""
    return isinstance(error.original_error, InvalidOperationTypeError)


def log_errors(errors: Sequence[GraphQLError]) -> None:
    """Log one result's errors: each of the client's at INFO, the server's at ERROR once."""
    faults = [error for error in errors if is_internal(error)]
    for error in errors:
        if not is_internal(error):
            logger.info("refused: %s", _shortened(error.message))
    if faults:
        first = faults[0]
        more = f" (and {len(faults) - 1} more in the same result)" if len(faults) > 1 else ""
        logger.error(
            "failed at %s: %s%s",
            ".".join(map(str, first.path or ())) or "the operation",
            first.message,
            more,
            exc_info=first.original_error,
        )


def _shortened(message: str) -> str:
    flat = " ".join(message.split())  # a multi-line message stays one log line
    if len(flat) <= _MAX_LOGGED_MESSAGE:
        return flat
    return flat[:_MAX_LOGGED_MESSAGE] + "…"
