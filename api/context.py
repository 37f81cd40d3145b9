"""What a request handler works with: the services the app's lifespan opened, and the
GraphQL context of one operation (caller, session factory, DataLoaders)."""

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from api.auth import Authenticator, Caller
from api.live import LiveReader, RunEventHub
from resolvers.dataloaders import Loaders

if TYPE_CHECKING:
    # Not at run time: api.artifacts' routes import this module.
    from api.artifacts.access import ArtifactAccess


@dataclass(frozen=True, slots=True)
class Services:
    """Opened by the app's lifespan, kept on `app.state.services`, closed at shutdown."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    hub: RunEventHub
    live_reader: LiveReader
    artifacts: "ArtifactAccess"


def services_of(conn: HTTPConnection) -> Services:
    found = getattr(conn.app.state, "services", None)
    if not isinstance(found, Services):
        raise RuntimeError(
            "the app's lifespan has not started: serve it with uvicorn, or enter "
            "`app.router.lifespan_context(app)` around in-process clients"
        )
    return found


@dataclass(slots=True)
class Context:
    """The GraphQL context.

    Strawberry builds one per HTTP request but only one per websocket connection, and sets
    `connection_params` on it when `connection_init` arrives; the caller is known only after
    that. `OperationScope` therefore gives each operation its own copy with fresh
    `Loaders`, and resolvers open short-lived sessions from `sessions` (one AsyncSession
    cannot serve concurrent sibling resolvers).
    """

    request: Request | WebSocket
    response: Response | WebSocket
    sessions: async_sessionmaker[AsyncSession]
    authenticated: Caller | None = None
    connection_params: object = None
    operation_loaders: Loaders | None = None

    @property
    def caller(self) -> Caller:
        if self.authenticated is None:
            raise RuntimeError("an operation ran before the caller was authenticated")
        return self.authenticated

    @property
    def loaders(self) -> Loaders:
        if self.operation_loaders is None:
            raise RuntimeError("loaders are made per operation, by the OperationScope extension")
        return self.operation_loaders

    def for_operation(self) -> "Context":
        """A copy with fresh DataLoaders. Subscriptions should take one per event."""
        caller = self.caller
        return dataclasses.replace(self, operation_loaders=Loaders.create(self.sessions, caller))


class OperationScope(SchemaExtension):
    """Swaps the (possibly connection-wide) context for a per-operation copy."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            self.execution_context.context = context.for_operation()
        yield
