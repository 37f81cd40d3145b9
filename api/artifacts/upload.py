"""`PUT /v1/artifacts/{key}`: an artifact's bytes, streamed into the server's store, from a
recorder that records over HTTP (`storage.server.ServerStore`).

Authorised by `Authorization: Bearer <secret key>`. The key must be shaped as
`storage.keys.artifact_key` makes it; its first segment is replaced by the caller's own
organization (`storage.keys.with_org`, as the ingest endpoint does with the keys in the
records), so no caller writes into another organization's objects. The body is hashed as it
streams, never held whole, and stored only once all of it has arrived.

    201 / 200  stored (new / replacing an object): `StoredObject`, the key as stored
    400        a bad key, or the client left before the body ended
    401        no usable API key (with WWW-Authenticate)
    413        the body is over `ServerSettings.artifact_max_upload_bytes`; nothing stored
    503        the store is unavailable (with Retry-After); nothing stored

A Content-Type that is not a well-formed media type is stored as
`application/octet-stream` (`storage.media.checked_media_type`), as the recorder does.
Errors answer `{"error": message}`.
"""

import hashlib
import logging
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.api.ingest.orgs import org_slug
from tracewire.storage import InvalidKey, StorageError, artifact_name, guess_mime, with_org
from tracewire.storage.media import checked_media_type, download_of
from tracewire.storage.server import UPLOAD_PATH, StoredObject

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5


class _TooLarge(Exception):
    pass


class _Body:
    """The request's body as it arrives, counted and hashed; `_TooLarge` past `limit`."""

    def __init__(self, request: Request, limit: int) -> None:
        self._request = request
        self._limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._request.stream():
            self.size += len(chunk)
            if self.size > self._limit:
                raise _TooLarge
            if chunk:
                self.sha256.update(chunk)
                yield chunk


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _too_large(limit: int) -> JSONResponse:
    return _error(413, f"an artifact may have at most {limit} bytes")


async def upload(request: Request) -> Response:
    services = services_of(request)
    access = services.artifacts
    try:
        caller = await services.authenticator.authenticate(
            request.headers.get("authorization"), writing=True
        )
    except Unauthorized as exc:
        return _error(401, exc.message, {"WWW-Authenticate": 'Bearer realm="tracewire"'})
    slug = await org_slug(services.sessions, caller.org_id)
    try:
        key = with_org(request.path_params["key"], slug)
        name = artifact_name(key)
    except InvalidKey as exc:
        return _error(400, str(exc))
    mime = checked_media_type(request.headers.get("content-type") or guess_mime(name))
    limit = access.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)

    body = _Body(request, limit)
    try:
        # Also checks the store answers before the client sends what may be gigabytes.
        existed = await access.store.size(key) is not None
        await access.store.put(key, body.chunks(), download=download_of(name, mime))
    except _TooLarge:
        return _too_large(limit)
    except ClientDisconnect:
        logger.info("artifact upload of %s ended by the client after %d bytes", key, body.size)
        return _error(400, "the client disconnected before the body ended")
    except InvalidKey as exc:
        return _error(400, str(exc))
    except StorageError as exc:
        logger.warning("artifact upload of %s failed: %s", key, exc)
        return _error(
            503,
            "the artifact store is unavailable; try again",
            {"Retry-After": str(RETRY_AFTER_S)},
        )
    stored = StoredObject(storage_key=key, size_bytes=body.size, sha256=body.sha256.hexdigest())
    return JSONResponse(stored, status_code=200 if existed else 201)


routes = [Route(UPLOAD_PATH + "{key:path}", upload, methods=["PUT"])]
