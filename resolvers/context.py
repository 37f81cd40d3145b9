"""The GraphQL context: what one operation works with. The server (`tracewire.api`) builds
it from the services its lifespan opened; resolvers and schema types only read it."""

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from tracewire.db.models import Artifact
from tracewire.db.wakeups import Publisher
from tracewire.live import LiveReader, RunEventHub
from tracewire.resolvers.caller import Caller
from tracewire.resolvers.dataloaders import Loaders


class ArtifactLinks(Protocol):
    """Hands out download URLs for stored artifacts (the server's signer, or the store's
    presigned URLs)."""

    async def download_url(self, row: Artifact) -> str: ...


@dataclass(slots=True)
class Context:
    """The GraphQL context.

    Strawberry builds one per HTTP request but only one per websocket connection, and sets
    `connection_params` on it when `connection_init` arrives; the caller is known only after
    that. The schema's `OperationScope` extension therefore gives each operation its own
    copy with fresh `Loaders`, and resolvers open short-lived sessions from `sessions` (one
    AsyncSession cannot serve concurrent sibling resolvers). Mutations that append run
    events wake live subscribers through `wakeups`, the process's one publisher.
    """

    request: Request | WebSocket
    response: Response | WebSocket
    sessions: async_sessionmaker[AsyncSession]
    hub: RunEventHub
    live_reader: LiveReader
    artifacts: ArtifactLinks
    wakeups: Publisher
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
