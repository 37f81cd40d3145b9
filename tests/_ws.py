"""A small graphql-transport-ws client over httpx-ws, for tests against a real server."""

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from wsproto.utilities import LocalProtocolError


class GraphQLSocket:
    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        await self.ws.send_json({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    async def receive(self, wait_s: float = 20.0) -> dict[str, Any]:
        """The next message that is not a ping (pings are answered)."""
        while True:
            message: dict[str, Any] = await self.ws.receive_json(timeout=wait_s)
            if message["type"] == "ping":
                await self.ws.send_json({"type": "pong"})
                continue
            return message


@asynccontextmanager
async def graphql_socket(url: str, secret: str) -> AsyncIterator[GraphQLSocket]:
    done = False
    try:
        async with (
            httpx.AsyncClient() as client,
            aconnect_ws(
                url,
                client,
                subprotocols=["graphql-transport-ws"],
                session_class=AsyncWebSocketSession,
            ) as ws,
        ):
            await _init(ws, secret)
            yield GraphQLSocket(ws)
            done = True
    except* LocalProtocolError:
        # httpx-ws answers a server ping that crosses our close with a pong wsproto refuses
        # to send while closing; once the test's work is done, that is nobody's failure.
        if not done:
            raise


async def _init(ws: AsyncWebSocketSession, secret: str) -> None:
    await ws.send_json(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {secret}"}}
    )
    ack = await ws.receive_json(timeout=20)
    assert ack["type"] == "connection_ack", ack
