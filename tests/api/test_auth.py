"""Who may read: a secret key over HTTP or in the websocket `connection_init`, refusals as
401s with a message, and the anonymous-organization mode."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import BASE_URL, add_runs, bearer, data, new_org_key, serve, unique_slug
from tracewire.api.app import create_app
from tracewire.api.keys import ensure_org, revoke_api_key
from tracewire.api.settings import ServerSettings
from tracewire.db.engine import session_factory
from tracewire.db.models import Organization

COUNT = "{ runs { totalCount } }"


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


async def post(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", json={"query": COUNT}, headers=headers)


async def test_a_request_without_a_key_gets_401_with_a_clear_message(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, {})

    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": "missing API key: send Authorization: Bearer <secret key>"}]
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer sk-tw-not-a-key", "invalid API key"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization: expected 'Bearer <secret key>'"),
        ("Bearer", "malformed Authorization: expected 'Bearer <secret key>'"),
        ("Bearer pk-tw-0123", "that is a public key: send the secret key (sk-tw-...)"),
    ],
)
async def test_a_bad_key_gets_401(
    client: httpx.AsyncClient, authorization: str, message: str
) -> None:
    response = await post(client, {"Authorization": authorization})

    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": message}]}


async def test_a_revoked_key_gets_401_while_the_orgs_other_keys_still_work(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    revoked = await new_org_key(engine)
    kept = await new_org_key(engine, slug=await slug_of(engine, revoked.org_id))
    async with session_factory(engine).begin() as session:
        assert await revoke_api_key(session, revoked.public_key)

    refused = await post(client, bearer(revoked))
    accepted = await post(client, bearer(kept))

    assert refused.status_code == 401
    assert refused.json() == {"errors": [{"message": "API key revoked"}]}
    assert accepted.status_code == 200


async def slug_of(engine: AsyncEngine, org_id: uuid.UUID) -> str:
    async with session_factory(engine)() as session:
        org = await session.get(Organization, org_id)
    assert org is not None
    return org.slug


async def test_a_valid_key_is_accepted_as_a_lowercase_bearer_too(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)

    response = await post(client, {"Authorization": f"bearer {key.secret}"})

    assert response.status_code == 200
    assert response.json() == {"data": {"runs": {"totalCount": 0}}}


async def test_anonymous_org_mode_reads_that_org_without_a_key(
    database_url: str, engine: AsyncEngine
) -> None:
    slug = unique_slug("anon")
    other = await new_org_key(engine)
    await add_runs(engine, other.org_id, 2)

    async with serve(database_url, anonymous_org=slug) as client:
        # The org exists from startup, so a writer ensuring the same slug gets the same id.
        async with session_factory(engine).begin() as session:
            org_id = await ensure_org(session, slug)
        await add_runs(engine, org_id, 3)

        anonymous = await data(client, COUNT, None)
        keyed = await data(client, COUNT, other)
        bad_key = await post(client, {"Authorization": "Bearer sk-tw-wrong"})

    assert anonymous == {"runs": {"totalCount": 3}}
    assert keyed == {"runs": {"totalCount": 2}}
    assert bad_key.status_code == 401


async def test_the_graphiql_page_is_served_without_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@asynccontextmanager
async def graphql_ws(database_url: str) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws connection. Entered inside the test itself: the transport's
    task group must be left by the task that entered it."""
    app = create_app(ServerSettings(database_url=database_url))
    async with app.router.lifespan_context(app):
        transport = ASGIWebSocketTransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
            aconnect_ws(
                "/graphql",
                client,
                subprotocols=["graphql-transport-ws"],
                session_class=AsyncWebSocketSession,
            ) as ws,
        ):
            yield ws


async def test_a_websocket_authenticates_with_the_connection_init_payload(
    database_url: str, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    await add_runs(engine, key.org_id, 2)

    async with graphql_ws(database_url) as ws:
        await ws.send_json({"type": "connection_init", "payload": bearer(key)})
        ack = await ws.receive_json()
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": COUNT}})
        result = await ws.receive_json()

    assert ack["type"] == "connection_ack"
    assert result == {"id": "1", "type": "next", "payload": {"data": {"runs": {"totalCount": 2}}}}


@pytest.mark.parametrize("payload", [{}, {"Authorization": "Bearer sk-tw-wrong"}])
async def test_a_websocket_without_a_valid_key_is_closed_as_forbidden(
    database_url: str, payload: dict[str, str]
) -> None:
    async with graphql_ws(database_url) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json()

    assert closed.value.code == 4403
