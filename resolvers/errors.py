"""Errors a GraphQL client may see.

    Exception
     └── UserError              shown to the client as raised
          ├── InvalidArgument   an argument out of range or malformed (`first`, a cursor, a filter)
          ├── NotFound          no such id in the caller's organization (also for other orgs' ids:
          │                     whether an id exists elsewhere is never revealed)
          └── InvalidTransition a lifecycle change the run's current status does not allow

Everything else raised while resolving reaches the client only as "Unexpected error." (the
schema's `MaskErrors` lets `UserError` through, nothing else). `UserError`s are logged at
INFO without a traceback, everything else at ERROR with one (`tracewire.schema._errors`).
"""


class UserError(Exception):
    """Base of the errors whose message is meant for the client."""


class InvalidArgument(UserError):
    """An argument the client can fix."""


class NotFound(UserError):
    """The id names nothing the caller may see."""

    def __init__(self, kind: str, id: object) -> None:
        super().__init__(f"no {kind} with id {str(id)!r}")


class InvalidTransition(UserError):
    """The run is in a status the requested change cannot start from."""
