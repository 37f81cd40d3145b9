"""Revoking a key closes the websockets it opened, on every server replica: two real server
processes on one database, real graphql-transport-ws clients, and the revocation made the way
a user makes it (`tracewire keys revoke`, the web UI's sign-out)."""

import asyncio
import re
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from sqlalchemy.ext.asyncio import AsyncEngine
from wsproto.utilities import LocalProtocolError

from tests._api import new_org_key
from tests._poll import wait_until
from tests._private_postgres import migrated_private_postgres
from tests._server import TRACEWIRE, ServerProcess, serving
from tests._ws import GraphQLSocket, graphql_socket
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import create_engine, session_factory
from tracewire.db.models import Organization

# The bound; the server checks every second, the rest is margin for a loaded machine.
CLOSE_BOUND_S = 5.0
RUN_UPDATES = "subscription { runUpdates { id agent } }"
CREATE_RUN = "mutation ($agent: String!) { createRun(input: {agent: $agent}) { id } }"
LOGIN_LINK = re.compile(r"/\?login=(\S+)")


def workdir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


async def org_slug(engine: AsyncEngine, key: IssuedKey) -> str:
    async with session_factory(engine)() as session:
        org = await session.get(Organization, key.org_id)
    assert org is not None
    return org.slug


async def create_run(server: ServerProcess, secret: str, agent: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.http_url}/graphql",
            json={"query": CREATE_RUN, "variables": {"agent": agent}},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.text


async def receives_run_updates(
    sockets: list[GraphQLSocket], server: ServerProcess, secret: str
) -> None:
    """Every socket, subscribed to runUpdates, gets the update of a run created now. A run is
    created again until each got one: a subscription starts a moment after `subscribe`."""
    waiting = set(range(len(sockets)))
    for attempt in range(20):
        agent = f"agent-{attempt}"
        await create_run(server, secret, agent)
        for index in list(waiting):
            try:
                message = await sockets[index].receive(wait_s=2)
            except TimeoutError:
                continue
            assert message["type"] == "next", message
            waiting.discard(index)
        if not waiting:
            return
    raise AssertionError(f"sockets {sorted(waiting)} got no runUpdates")


async def closed(socket: GraphQLSocket, within: float) -> WebSocketDisconnect:
    """How the server closed `socket`, which must happen within `within` seconds (messages
    still in flight are skipped)."""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"the socket is still open {within:g} s later"
        try:
            await socket.receive(wait_s=left)
        except WebSocketDisconnect as close:
            return close
        except TimeoutError:
            continue


async def revoke_with_the_cli(database_url: str, public_key: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(TRACEWIRE),
        "keys",
        "revoke",
        public_key,
        "--database-url",
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert output.decode() == f"revoked {public_key}\n"


async def connection_init_refused(server: ServerProcess, secret: str) -> WebSocketDisconnect:
    async with (
        httpx.AsyncClient() as client,
        aconnect_ws(
            server.ws_url,
            client,
            subprotocols=["graphql-transport-ws"],
            session_class=AsyncWebSocketSession,
        ) as ws,
    ):
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {secret}"}}
        )
        with pytest.raises(WebSocketDisconnect) as refused:
            await ws.receive_json(timeout=20)
    return refused.value


async def subscribe_fails(socket: GraphQLSocket) -> bool:
    """A subscribe on a socket the server closed is refused: the client knows it is closed
    (wsproto refuses the send), or the server's close arrives instead of an answer."""
    try:
        await socket.subscribe(RUN_UPDATES)
        message: dict[str, Any] = await socket.receive(wait_s=2)
    except (WebSocketDisconnect, LocalProtocolError):
        return True
    raise AssertionError(f"a closed socket answered a subscribe: {message}")


async def test_keys_revoke_closes_the_keys_websockets_on_every_replica_within_5_s(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    revoked = await new_org_key(engine)
    kept = await new_org_key(engine, slug=await org_slug(engine, revoked))
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(serving(database_url, workdir(tmp_path, "first")))
        second = await stack.enter_async_context(serving(database_url, workdir(tmp_path, "second")))
        sockets = [
            await stack.enter_async_context(graphql_socket(first.ws_url, revoked.secret)),
            await stack.enter_async_context(graphql_socket(second.ws_url, revoked.secret)),
        ]
        other_keys_socket = await stack.enter_async_context(
            graphql_socket(second.ws_url, kept.secret)
        )
        for socket in [*sockets, other_keys_socket]:
            await socket.subscribe(RUN_UPDATES)
        await receives_run_updates([*sockets, other_keys_socket], first, kept.secret)

        await revoke_with_the_cli(database_url, revoked.public_key)

        for socket in sockets:
            close = await closed(socket, within=CLOSE_BOUND_S)
            assert (close.code, close.reason) == (4401, "API key revoked")
            assert await subscribe_fails(socket)
        # The organization's other key keeps its socket, and its stream.
        await receives_run_updates([other_keys_socket], first, kept.secret)
        for server in (first, second):
            refused = await connection_init_refused(server, revoked.secret)
            assert refused.code == 4403
        for server in (first, second):
            assert "Traceback" not in server.output(), server.log_tail()


async def test_signing_out_of_the_web_ui_closes_the_sessions_websockets_on_every_replica(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    org = await org_slug(engine, await new_org_key(engine))
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            serving(database_url, workdir(tmp_path, "first"), "--login-org", org)
        )
        second = await stack.enter_async_context(serving(database_url, workdir(tmp_path, "second")))
        token = await wait_until(
            lambda: LOGIN_LINK.search(first.output()), what="the login link in the banner"
        )
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=first.http_url))
        login = await client.post("/auth/login", json={"token": token[1]})
        assert login.status_code == 200, login.text
        secret = login.json()["key"]
        sockets = [
            await stack.enter_async_context(graphql_socket(first.ws_url, secret)),
            await stack.enter_async_context(graphql_socket(second.ws_url, secret)),
        ]
        for socket in sockets:
            await socket.subscribe(RUN_UPDATES)
        await receives_run_updates(sockets, second, secret)

        logout = await client.post("/auth/logout", headers={"Authorization": f"Bearer {secret}"})
        assert logout.status_code == 204

        for socket in sockets:
            close = await closed(socket, within=CLOSE_BOUND_S)
            assert (close.code, close.reason) == (4401, "signed out")
        for server in (first, second):
            assert "Traceback" not in server.output(), server.log_tail()


@pytest.mark.slow
async def test_the_revocation_check_outlives_a_database_restart(
    tmp_path: Path,
) -> None:
    async with migrated_private_postgres() as (postgres, database_url):
        engine = create_engine(database_url)
        try:
            key = await new_org_key(engine)
        finally:
            await engine.dispose()
        async with (
            serving(database_url, workdir(tmp_path, "server")) as server,
            graphql_socket(server.ws_url, key.secret) as socket,
        ):
            await asyncio.to_thread(postgres.stop)
            # Past a few checks: each fails while the database is away.
            await wait_until(
                lambda: "cannot check websockets' keys" in server.output(),
                what="the revocation check's warning",
            )
            await asyncio.to_thread(postgres.start)
            await revoke_with_the_cli(database_url, key.public_key)

            close = await closed(socket, within=CLOSE_BOUND_S)
            assert (close.code, close.reason) == (4401, "API key revoked")
        warnings = [line for line in server.output().splitlines() if "websockets' keys" in line]
        assert len(warnings) == 2, warnings  # one when the outage starts, one when it ends
