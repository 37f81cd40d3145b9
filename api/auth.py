"""Who is calling: an `Authorization: Bearer <secret key>` value becomes a `Caller`.

HTTP requests carry the value as a header; websocket clients (browsers cannot set headers
on a websocket) send it in the `connection_init` payload as `{"Authorization": "..."}`.
Both paths end in `Authenticator.authenticate`; a websocket also keeps which key it
authenticated with (`authenticate_socket`), so that revoking the key can close it.
"""

import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracewire.api.keys import PUBLIC_KEY_PREFIX, ensure_org, hash_secret
from tracewire.db.models import ApiKey
from tracewire.live.outage import database_unreachable
from tracewire.resolvers.caller import Caller

logger = logging.getLogger("tracewire.auth")

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


class KeyCheckUnavailable(Exception):
    """The key could not be checked: the database did not answer. Not the client's fault
    (answer 503, not 401: a client must not drop a good key for it); already logged."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class KeyedCaller:
    """A caller and the key that authenticated it (None: the anonymous organization's,
    which no key grants and nothing revokes)."""

    caller: Caller
    key_id: uuid.UUID | None


class Authenticator:
    """Turns `Authorization` values into callers for one server's lifetime."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], anonymous: Caller | None
    ) -> None:
        self._sessions = sessions
        self._anonymous = anonymous
        self._database_away = False

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
        """The caller for an `Authorization` value (None when absent); raises `Unauthorized`,
        or `KeyCheckUnavailable` while the database is away. Reading without a key is the
        anonymous organization's, when the server has one; `writing` (ingestion, uploads)
        always takes a key."""
        return (await self._authenticate(authorization, writing=writing)).caller

    async def authenticate_socket(self, authorization: str | None) -> KeyedCaller:
        """Like `authenticate` for reading, with the key's id: a websocket stays open after
        this one check, until its key is revoked (`tracewire.api.revocations`)."""
        return await self._authenticate(authorization, writing=False)

    async def authenticate_pair(self, public_key: str, secret: str) -> Caller:
        """The caller for a `public_key:secret_key` pair (Basic auth, as Langfuse SDKs send
        it); raises `Unauthorized`."""
        return (await self._key_for_secret(secret, public_key)).caller

    async def _authenticate(self, authorization: str | None, *, writing: bool) -> KeyedCaller:
        if authorization is None or not authorization.strip():
            if self._anonymous is not None and not writing:
                return KeyedCaller(self._anonymous, key_id=None)
            raise Unauthorized("missing API key: send Authorization: Bearer <secret key>")
        secret = bearer_secret(authorization)
        if secret is None:
            raise Unauthorized("malformed Authorization: expected 'Bearer <secret key>'")
        if secret.startswith(PUBLIC_KEY_PREFIX):
            raise Unauthorized("that is a public key: send the secret key (sk-tw-...)")
        return await self._key_for_secret(secret)

    async def _key_for_secret(self, secret: str, public_key: str | None = None) -> KeyedCaller:
        try:
            key = await self._active_key(secret, public_key)
        except Exception as error:
            if not database_unreachable(error):
                raise
            if not self._database_away:
                # Once per outage: every request during it fails the same way.
                logger.error("cannot check API keys: the database did not answer", exc_info=error)
            self._database_away = True
            raise KeyCheckUnavailable(
                "API keys cannot be checked now (the database is unavailable); try again shortly"
            ) from error
        if self._database_away:
            logger.info("API keys are checked again")
            self._database_away = False
        return key

    async def _active_key(self, secret: str, public_key: str | None) -> KeyedCaller:
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
        return KeyedCaller(Caller(key.org_id), key_id=key.id)
