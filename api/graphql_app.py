"""Strawberry's ASGI app, with our context and authentication.

One instance serves `/graphql` both as an HTTP route (queries, GraphiQL) and as a websocket
route (subscriptions over graphql-transport-ws and graphql-ws).
"""

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from tracewire.api._ws_frames import FrameEncoder
from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.resolvers.context import Context
from tracewire.schema import schema


class GraphQLApp(GraphQL[Context, None]):
    """The schema over HTTP and websockets, with GraphiQL; refuses callers without a key."""

    def __init__(self) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self._frames = FrameEncoder()

    def encode_json(self, data: object) -> str:
        return self._frames.encode(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Unauthorized as exc:
            # Raised by get_context for HTTP only, before any response was started.
            response = JSONResponse(
                {"errors": [{"message": exc.message}]},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="tracewire"'},
            )
            await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services = services_of(request)
        context = Context(
            request=request,
            response=response,
            sessions=services.sessions,
            hub=services.hub,
            live_reader=services.live_reader,
            artifacts=services.artifacts,
            wakeups=services.wakeups,
        )
        # Websockets authenticate in on_ws_connect; the GraphiQL page itself needs no key
        # (the queries it then sends do).
        if isinstance(request, Request) and not self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            authorization = request.headers.get("authorization")
            context.authenticated = await services.authenticator.authenticate(authorization)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params
        authorization = None
        if isinstance(params, Mapping):
            authorization = params.get("Authorization", params.get("authorization"))
        if authorization is not None and not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "Authorization must be a string"})
        try:
            caller = await services_of(context.request).authenticator.authenticate(authorization)
        except Unauthorized as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        context.authenticated = caller
        return UnsetType()  # acknowledge without a payload
