"""Serving the built web UI (api/web_ui.py): its pages, its assets, the bundled GraphiQL for
browsers at /graphql, and a helpful page when the UI is not built."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tracewire.api.web_ui import BundledGraphiQL, web_ui_routes

BASE_URL = "http://tracewire.test"


@pytest.fixture
def dist(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<title>Tracewire</title><div id=root>")
    (tmp_path / "graphiql.html").write_text("<title>Tracewire GraphiQL</title>")
    (tmp_path / "assets" / "main-abc123.js").write_text("console.log(1)")
    yield tmp_path


async def _graphql(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("graphql answered")(scope, receive, send)


def _client(dist: Path) -> httpx.AsyncClient:
    routes = [Route("/graphql", BundledGraphiQL(_graphql, dist)), *web_ui_routes(dist)]
    app = Starlette(routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def test_every_ui_page_path_answers_with_the_index_never_cached_stale(dist: Path) -> None:
    async with _client(dist) as client:
        for path in ("/", "/runs/0f2d7c4e-0000-0000-0000-000000000000", "/stats"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "<div id=root>" in response.text
            assert response.headers["cache-control"] == "no-cache"
        assert (await client.get("/nope")).status_code == 404


async def test_hashed_assets_are_served_cacheable_forever(dist: Path) -> None:
    async with _client(dist) as client:
        response = await client.get("/assets/main-abc123.js")
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
        assert (await client.get("/assets/missing.js")).status_code == 404


async def test_a_browser_opening_graphql_gets_the_bundled_graphiql_and_clients_the_api(
    dist: Path,
) -> None:
    async with _client(dist) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "Tracewire GraphiQL" in page.text
        for response in (
            await client.get("/graphql", params={"query": "{ __typename }"}),
            await client.get("/graphql", headers={"Accept": "application/json"}),
            await client.post("/graphql", json={"query": "{ __typename }"}),
        ):
            assert response.text == "graphql answered"


async def test_without_a_build_the_pages_say_how_to_build_and_graphiql_falls_back(
    tmp_path: Path,
) -> None:
    async with _client(tmp_path / "missing") as client:
        response = await client.get("/")
        assert response.status_code == 503
        assert "make web" in response.text
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.text == "graphql answered"
