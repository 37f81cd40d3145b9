"""Telling "the database is unreachable for now" from every other failure of a read.

Live streams wait out the first kind (the notifier's `RESYNC` tells them when the database
is back) and report the second. Through SQLAlchemy a lost connection arrives as a
`DBAPIError` marked `connection_invalidated`, a refused one as `OperationalError` or
`InterfaceError`; asyncpg's own errors arrive where we use the driver directly.
"""

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

_DRIVER_LOST = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
)


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached (down, restarting, the
    connection cut), as opposed to a query or programming error."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, _DRIVER_LOST)
