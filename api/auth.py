"""Who is calling: an `Authorization: Bearer <secret key>` value becomes a `Caller`.

HTTP requests carry the value as a header; websocket clients (browsers cannot set headers
on a websocket) send it in the `connection_init` payload as `{"Authorization": "..."}`.
Both paths end in `Authenticator.authenticate`.
"""

import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracewire.api.keys import PUBLIC_KEY_PREFIX, ensure_org, hash_secret
from tracewire.db.models import ApiKey
from tracewire.resolvers.caller import Caller

# `last_used_at` is informational; writing it on every request would turn reads into writes.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def bearer_secret(authorization: str) -> str | None:
    """The secret of a `Bearer <secret>` value; None for any other value."""
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


class Unauthorized(Exception):
    """The request carries no usable credentials. The message is shown to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Authenticator:
    """Turns `Authorization` values into callers for one server's lifetime."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], anonymous: Caller | None
    ) -> None:
        self._sessions = sessions
        self._anonymous = anonymous

    @classmethod
    async def start(
        cls, sessions: async_sessionmaker[AsyncSession], anonymous_org: str | None
    ) -> "Authenticator":
        """Resolve the anonymous organization once, creating it if needed, so that a reader
        without a key and a writer (the demo, an agent) that ensures the same slug agree."""
        anonymous = None
        if anonymous_org is not None:
            async with sessions.begin() as session:
                anonymous = Caller(await ensure_org(session, anonymous_org))
        return cls(sessions, anonymous)

    async def authenticate(self, authorization: str | None, *, writing: bool = False) -> Caller:
        """The caller for an `Authorization` value (None when absent); raises `Unauthorized`.
        Reading without a key is the anonymous organization's, when the server has one;
        `writing` (ingestion, uploads) always takes a key."""
        if authorization is None or not authorization.strip():
            if self._anonymous is not None and not writing:
                return self._anonymous
            raise Unauthorized("missing API key: send Authorization: Bearer <secret key>")
        secret = bearer_secret(authorization)
        if secret is None:
            raise Unauthorized("malformed Authorization: expected 'Bearer <secret key>'")
        if secret.startswith(PUBLIC_KEY_PREFIX):
            raise Unauthorized("that is a public key: send the secret key (sk-tw-...)")
        return await self._caller_for_secret(secret)

    async def authenticate_pair(self, public_key: str, secret: str) -> Caller:
        """The caller for a `public_key:secret_key` pair (Basic auth, as Langfuse SDKs send
        it); raises `Unauthorized`."""
        return await self._caller_for_secret(secret, public_key)

    async def _caller_for_secret(self, secret: str, public_key: str | None = None) -> Caller:
        async with self._sessions() as session:
            key = (
                await session.execute(
                    select(
                        ApiKey.id,
                        ApiKey.org_id,
                        ApiKey.public_key,
                        ApiKey.revoked_at,
                        ApiKey.last_used_at,
                    ).where(ApiKey.secret_hash == hash_secret(secret))
                )
            ).one_or_none()
            if public_key is not None and (
                key is None or not hmac.compare_digest(key.public_key, public_key)
            ):
                raise Unauthorized("invalid API key pair")
            if key is None:
                raise Unauthorized("invalid API key")
            if key.revoked_at is not None:
                raise Unauthorized("API key revoked")
            now = datetime.now(UTC)
            if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
                await session.execute(
                    update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
                )
                await session.commit()
        return Caller(key.org_id)
