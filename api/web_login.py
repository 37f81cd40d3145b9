"""`POST /auth/login` and `POST /auth/logout`: the web UI's one-time login links, the way
Jupyter prints its token URL.

`tracewire serve --login-org ORG` prints `http://HOST:PORT/?login=<token>` at start. The
page posts the token to `POST /auth/login` once; the server then issues a fresh API key of
ORG (named `WEB_KEY_NAME`) and returns it, and the page keeps it for the tab's session.
`POST /auth/logout` revokes such a key; a key someone typed in is never revoked there (it
may be their CI's), the page only forgets it.

Security: a token is 256 random bits, kept only as its SHA-256 in this process's memory,
valid once (removed on the first attempt, right or wrong) and for `LOGIN_TOKEN_TTL` seconds.
It travels in a URL only to reach the page, which removes it from the address bar before
redeeming it; the key travels only in response bodies and `Authorization` headers, and the
server logs no requests (uvicorn's access log is off).
"""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracewire.api.auth import bearer_secret
from tracewire.api.context import services_of
from tracewire.api.keys import create_api_key, revoke_named_key
from tracewire.api.login_links import WEB_KEY_NAME, LoginLinks
from tracewire.api.request_body import BodyError, read_json

_NO_STORE = {"Cache-Control": "no-store"}
_MAX_BODY_BYTES = 4096  # {"token": ...}


def login_routes(links: LoginLinks | None) -> list[Route]:
    async def login(request: Request) -> Response:
        try:
            body = await read_json(request, _MAX_BODY_BYTES)
        except BodyError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or links is None or not links.redeem(token):
            return JSONResponse(
                {"error": "this login link is invalid, used or expired"},
                status_code=401,
                headers=_NO_STORE,
            )
        async with services_of(request).sessions.begin() as session:
            issued = await create_api_key(session, links.org, name=WEB_KEY_NAME)
        return JSONResponse({"key": issued.secret}, headers=_NO_STORE)

    async def logout(request: Request) -> Response:
        secret = bearer_secret(request.headers.get("authorization", ""))
        if secret is not None:
            async with services_of(request).sessions.begin() as session:
                await revoke_named_key(session, secret, WEB_KEY_NAME)
        return Response(status_code=204, headers=_NO_STORE)

    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
    ]
