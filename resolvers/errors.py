"""Errors a GraphQL client may see.

    Exception
     └── UserError              shown to the client as raised
          └── InvalidArgument   an argument out of range or malformed (`first`, a cursor)

Everything else raised while resolving is logged by Strawberry and reaches the client only
as "Unexpected error." (the schema's `MaskErrors` lets `UserError` through, nothing else).
"""


class UserError(Exception):
    """Base of the errors whose message is meant for the client."""


class InvalidArgument(UserError):
    """An argument the client can fix."""
