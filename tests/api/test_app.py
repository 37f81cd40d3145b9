"""The app: it needs a database URL, migrates on startup, and reports health."""

import httpx
import pytest

from tests._api import serve
from tracewire.api.app import create_app
from tracewire.api.settings import ServerSettings


def test_an_app_without_a_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="database_url"):
        create_app(ServerSettings())


async def test_healthz_answers_ok_once_the_database_answers(database_url: str) -> None:
    async with serve(database_url) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_requests_before_the_lifespan_started_fail_loudly(database_url: str) -> None:
    app = create_app(ServerSettings(database_url=database_url, grpc_port=0))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(RuntimeError, match="lifespan has not started"):
            await client.get("/healthz")
