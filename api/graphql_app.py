"""Strawberry's ASGI app, with our context and authentication.

One instance serves `/graphql` both as an HTTP route (queries, GraphiQL) and as a websocket
route (subscriptions over graphql-transport-ws and graphql-ws).
"""

from collections.abc import Mapping

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from tracewire.api._ws_frames import FrameEncoder
from tracewire.api.auth import KeyCheckUnavailable, Unauthorized
from tracewire.api.context import services_of
from tracewire.resolvers.context import Context
from tracewire.schema import schema

_RETRY_AFTER_SECONDS = "5"


class GraphQLApp(GraphQL[Context, None]):
    """The schema over HTTP and websockets, with GraphiQL; refuses callers without a key."""

    def __init__(self) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self._frames = FrameEncoder()

    def encode_json(self, data: object) -> str:
        return self._frames.encode(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses deep nesting with a JSONDecodeError, which Strawberry answers 400;
        # json.loads recurses into a RecursionError, a 500.
        return orjson.loads(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._serve_websocket(WebSocket(scope, receive=receive, send=send))
            return
        try:
            await super().__call__(scope, receive, send)
        except Unauthorized as exc:
            # Raised by get_context for HTTP only (as is the next), before any response started.
            response = JSONResponse(
                {"errors": [{"message": exc.message}]},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="tracewire"'},
            )
            await response(scope, receive, send)
        except KeyCheckUnavailable as exc:
            unavailable = JSONResponse(
                {"errors": [{"message": exc.message}]},
                status_code=503,
                headers={"Retry-After": _RETRY_AFTER_SECONDS},
            )
            await unavailable(scope, receive, send)

    async def _serve_websocket(self, websocket: WebSocket) -> None:
        try:
            await self.run(websocket)
        finally:
            services_of(websocket).revocations.forget(websocket)

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
        services = services_of(context.request)
        try:
            signed_in = await services.authenticator.authenticate_socket(authorization)
        except (Unauthorized, KeyCheckUnavailable) as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        context.authenticated = signed_in.caller
        if signed_in.key_id is not None and isinstance(context.request, WebSocket):
            # Checked once here; from now on, revoking the key is what closes the socket.
            services.revocations.watch(signed_in.key_id, context.request)
        return UnsetType()  # acknowledge without a payload
