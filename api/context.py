"""What a request handler works with: the services the app's lifespan opened."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from tracewire.api.auth import Authenticator
from tracewire.api.revocations import SocketRevocations
from tracewire.db.wakeups import Publisher
from tracewire.live import LiveReader, RunEventHub

if TYPE_CHECKING:
    # Not at run time: api.artifacts' routes import this module.
    from tracewire.api.artifacts.access import ArtifactAccess


@dataclass(frozen=True, slots=True)
class Services:
    """Opened by the app's lifespan, kept on `app.state.services`, closed at shutdown.
    `wakeups` is the process's one wake-up publisher, for the writers of run events that
    run in the server itself; `revocations` closes the websockets of keys revoked since."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    hub: RunEventHub
    live_reader: LiveReader
    artifacts: "ArtifactAccess"
    wakeups: Publisher
    revocations: SocketRevocations


def services_of(conn: HTTPConnection) -> Services:
    found = getattr(conn.app.state, "services", None)
    if not isinstance(found, Services):
        raise RuntimeError(
            "the app's lifespan has not started: serve it with uvicorn, or enter "
            "`app.router.lifespan_context(app)` around in-process clients"
        )
    return found
