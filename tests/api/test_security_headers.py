"""Security headers on a real server process: the UI's pages, its assets, GraphiQL and the
GraphQL endpoint all carry a Content-Security-Policy, frame-ancestors/X-Frame-Options,
nosniff and a Referrer-Policy."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests._server import ServerProcess, serving
from tracewire.api.web_ui import WEB_DIST

ORG = "security-headers"


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("security-headers")
    async with serving(database_url, workdir, "--anonymous-org", ORG) as started:
        yield started


def _an_asset() -> str:
    assets = sorted(p.name for p in (WEB_DIST / "assets").glob("*.js"))
    assert assets, "build the UI first: make web"
    return f"/assets/{assets[0]}"


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/", {}),
        ("GET", "/stats", {}),
        ("GET", "asset", {}),
        ("GET", "/graphql", {"Accept": "text/html"}),  # GraphiQL
        ("POST", "/graphql", {"Content-Type": "application/json"}),
        ("GET", "/healthz", {}),
    ],
)
async def test_every_answer_carries_the_security_headers(
    server: ServerProcess, method: str, path: str, headers: dict[str, str]
) -> None:
    url = server.http_url + (_an_asset() if path == "asset" else path)
    body = b'{"query": "{ __typename }"}' if method == "POST" else None
    async with httpx.AsyncClient() as client:
        response = await client.request(method, url, headers=headers, content=body)

    assert response.status_code == 200, response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
