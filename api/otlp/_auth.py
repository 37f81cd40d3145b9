"""Who sends spans: `Bearer <secret key>` like the rest of the API, or Basic
`public_key:secret_key`, the way the Langfuse SDKs authenticate."""

import base64
import binascii

from starlette.requests import Request

from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.resolvers.caller import Caller


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
    return await services.authenticator.authenticate_pair(public_key, secret)
