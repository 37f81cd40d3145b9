"""Who sends spans: `Bearer <secret key>` like the rest of the API, or Basic
`public_key:secret_key`, the way the Langfuse SDKs authenticate. The same value arrives as
an HTTP header or as gRPC metadata."""

import base64
import binascii

from starlette.requests import Request

from tracewire.api.auth import Authenticator, Unauthorized
from tracewire.api.context import services_of
from tracewire.resolvers.caller import Caller


async def caller_of(request: Request) -> Caller:
    return await caller_for(
        services_of(request).authenticator, request.headers.get("authorization")
    )


async def caller_for(authenticator: Authenticator, authorization: str | None) -> Caller:
    """The caller for an `authorization` value (None when absent); raises `Unauthorized`."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return await authenticator.authenticate(authorization, writing=True)
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed Basic credentials") from None
    public_key, _, secret = decoded.partition(":")
    if not public_key or not secret:
        raise Unauthorized("Basic credentials must be public_key:secret_key")
    return await authenticator.authenticate_pair(public_key, secret)
