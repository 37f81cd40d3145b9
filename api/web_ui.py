"""The web UI at `/`: the files `make web` builds into `api/web_dist` (index.html and hashed
assets). The UI routes its own pages in the browser, so each of its paths answers with
index.html; everything else (`/graphql`, `/export/`...) is left to the API's routes, except
that a browser opening `/graphql` gets the GraphiQL page bundled with the UI (no CDN, so it
works offline) instead of Strawberry's."""

import os
from importlib import resources
from os import PathLike
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

# Package data of `tracewire.api`: in the wheel, and in the checkout once `make web` ran.
WEB_DIST = Path(str(resources.files("tracewire.api") / "web_dist"))

# The browser-side routes of web/src/App.tsx.
UI_PATHS = ("/", "/runs/{run_id}", "/stats")

_NOT_BUILT = """<!doctype html><title>Tracewire</title>
<p>The web UI is not built: run <code>make web</code> (or <code>make demo</code>), then reload.
GraphiQL is at <a href="/graphql">/graphql</a>.</p>"""


def web_ui_routes(dist: Path = WEB_DIST) -> list[BaseRoute]:
    """Routes serving the UI built into `dist`; a page saying how to build it when it is not."""
    index = dist / "index.html"

    async def page(request: Request) -> Response:
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT, status_code=503)
        # index.html names the current hashed assets: never serve a stale copy of it.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    routes: list[BaseRoute] = [Route(path, page, methods=["GET", "HEAD"]) for path in UI_PATHS]
    routes.append(Mount("/assets", app=_Assets(directory=dist / "assets", check_dir=False)))
    return routes


class BundledGraphiQL:
    """The GraphQL app, except that a browser's page request (GET, HTML accepted, no query)
    gets `web_dist/graphiql.html`; Strawberry's CDN-loaded GraphiQL only when that is not
    built."""

    def __init__(self, graphql: ASGIApp, dist: Path = WEB_DIST) -> None:
        self._graphql = graphql
        self._page = dist / "graphiql.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _wants_ide_page(scope) and self._page.is_file():
            response = FileResponse(self._page, headers={"Cache-Control": "no-cache"})
            await response(scope, receive, send)
            return
        await self._graphql(scope, receive, send)


def _wants_ide_page(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET":
        return False
    request = Request(scope)
    return "text/html" in request.headers.get("accept", "") and "query" not in request.query_params


class _Assets(StaticFiles):
    """Vite's hashed assets: a name never changes content, so browsers may keep them."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
