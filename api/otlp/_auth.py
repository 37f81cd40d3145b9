"""Who sends spans: `Bearer <secret key>` like the rest of the API, or Basic
`public_key:secret_key`, the way the Langfuse SDKs authenticate."""

import base64
import binascii
import hmac

from sqlalchemy import select
from starlette.requests import Request

from api.auth import Caller, Unauthorized
from api.context import services_of
from api.keys import hash_secret
from db.models import ApiKey


async def caller_of(request: Request) -> Caller:
    services = services_of(request)
    header = request.headers.get("authorization")
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return await services.authenticator.authenticate(header)
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed Basic credentials") from None
    public_key, _, secret = decoded.partition(":")
    if not public_key or not secret:
        raise Unauthorized("Basic credentials must be public_key:secret_key")
    async with services.sessions() as session:
        key = (
            await session.execute(
                select(ApiKey.org_id, ApiKey.secret_hash, ApiKey.revoked_at).where(
                    ApiKey.public_key == public_key
                )
            )
        ).one_or_none()
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise Unauthorized("invalid API key pair")
    if key.revoked_at is not None:
        raise Unauthorized("API key revoked")
    return Caller(key.org_id)
