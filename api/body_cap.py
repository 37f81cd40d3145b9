"""A cap on an HTTP request's body for apps that read it whole (Strawberry's `/graphql`):
over the cap, 413 with a message, before the app sees any of it."""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracewire.api.request_body import BodyError, read_capped


class CappedBody:
    """`app`, with HTTP request bodies of at most `limit` bytes (read here, then replayed to
    `app`); websockets and body-less requests pass through untouched."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self._app(scope, receive, send)
            return
        try:
            body = await read_capped(Request(scope, receive), self._limit)
        except BodyError as error:
            response = JSONResponse(
                {"errors": [{"message": error.message}]}, status_code=error.status
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # the body is over: what follows is the client leaving
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)
