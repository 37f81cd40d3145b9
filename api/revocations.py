"""Closing the websockets of revoked keys, on every server replica.

A websocket authenticates once, at `connection_init`, and then stays open; revoking its key
(`tracewire keys revoke`, or the web UI's sign-out, which revokes the key it was issued)
only sets `api_keys.revoked_at`. Replicas share nothing but the database, so each one asks
it: every `CHECK_INTERVAL` seconds, while it has sockets open with a key, one lookup by
primary key finds which of those keys are revoked, and their sockets are closed with
`CLOSE_CODE` and a reason.

Polling, not NOTIFY: it needs no LISTEN connection (so it works through PgBouncer and with
Redis wake-ups), it cannot miss a revocation made while a listener was away, and it costs one
indexed query a second per replica, only while sockets are open.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketState

from tracewire.api.login_links import WEB_KEY_NAME
from tracewire.db.models import ApiKey
from tracewire.live.outage import database_unreachable

logger = logging.getLogger("tracewire.auth")

CHECK_INTERVAL = 1.0
# graphql-transport-ws's "Unauthorized": clients (the graphql-ws library among them) give up
# on it instead of reconnecting with the same, now useless, key.
CLOSE_CODE = 4401
REVOKED_REASON = "API key revoked"
SIGNED_OUT_REASON = "signed out"


class SocketRevocations:
    """The sockets a server holds open, by the key each authenticated with."""

    def __init__(self) -> None:
        self._by_key: dict[uuid.UUID, set[WebSocket]] = {}

    def watch(self, key_id: uuid.UUID, websocket: WebSocket) -> None:
        self._by_key.setdefault(key_id, set()).add(websocket)

    def forget(self, websocket: WebSocket) -> None:
        """The socket ended; a socket never watched is ignored."""
        for key_id, sockets in list(self._by_key.items()):
            sockets.discard(websocket)
            if not sockets:
                del self._by_key[key_id]

    async def close_revoked(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Close the sockets whose key is revoked now; how many were closed."""
        keys = list(self._by_key)
        if not keys:
            return 0
        async with sessions() as session:
            revoked = (
                await session.execute(
                    select(ApiKey.id, ApiKey.name).where(
                        ApiKey.id.in_(keys), ApiKey.revoked_at.is_not(None)
                    )
                )
            ).all()
        closed = 0
        for key_id, name in revoked:
            reason = SIGNED_OUT_REASON if name == WEB_KEY_NAME else REVOKED_REASON
            closed += await _close_all(self._by_key.pop(key_id, ()), reason)
        return closed

    async def watch_forever(
        self, sessions: async_sessionmaker[AsyncSession], interval: float = CHECK_INTERVAL
    ) -> None:
        """`close_revoked` every `interval` seconds until cancelled. While the database is
        away, sockets stay open (their key cannot be checked) and one warning says so."""
        database_away = False
        while True:
            await asyncio.sleep(interval)
            try:
                await self.close_revoked(sessions)
            except Exception as error:
                if not database_unreachable(error):
                    logger.exception("the revocation check failed; trying again")
                elif not database_away:
                    logger.warning("cannot check websockets' keys for revocation: %s", error)
                database_away = database_unreachable(error)
            else:
                if database_away:
                    logger.info("checking websockets' keys for revocation again")
                database_away = False


async def _close_all(sockets: Collection[WebSocket], reason: str) -> int:
    closed = 0
    for websocket in sockets:
        if websocket.application_state is not WebSocketState.CONNECTED:
            continue  # closing already
        # The client may have gone in the same instant: nothing left to close then.
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code=CLOSE_CODE, reason=reason)
            closed += 1
    return closed


@contextlib.asynccontextmanager
async def watching_revocations(
    sessions: async_sessionmaker[AsyncSession], interval: float = CHECK_INTERVAL
) -> AsyncIterator[SocketRevocations]:
    """A server's `SocketRevocations`, checked in the background while the block runs."""
    revocations = SocketRevocations()
    task = asyncio.create_task(
        revocations.watch_forever(sessions, interval), name="tracewire-key-revocations"
    )
    try:
        yield revocations
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
