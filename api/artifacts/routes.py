"""`GET|HEAD /artifacts/{id}/content`: an artifact's bytes, streamed from the store.

Authorised by a signed URL (`?expires=&sig=`, from GraphQL's `downloadUrl`) or by
`Authorization: Bearer <secret key>`; either way only for the artifact's own org, and
another org's artifact answers 404, as a missing one does. Supports one `Range`. Content a
browser could execute is served as an attachment, never sniffed, and sandboxed.
"""

import uuid

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tracewire.api.artifacts.access import CONTENT_PATH, download_for
from tracewire.api.artifacts.ranges import ByteRange, Unsatisfiable, parse_range
from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.db.models import Artifact
from tracewire.storage import ObjectMissing, StorageError
from tracewire.storage.media import disposition


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def content(request: Request) -> Response:
    services = services_of(request)
    access = services.artifacts
    try:
        artifact_id = uuid.UUID(request.path_params["artifact_id"])
    except ValueError:
        return _error(404, "no such artifact")
    # Unscoped read, checked below: a signed URL has no caller, only a proof for one org.
    async with services.sessions() as session:
        row = await session.scalar(select(Artifact).where(Artifact.id == artifact_id))
    signature = request.query_params.get("sig")
    if signature is not None:
        expires = request.query_params.get("expires", "")
        if (
            row is None
            or not expires.isdigit()
            or not access.signer.verify(row.id, row.org_id, int(expires), signature)
        ):
            return _error(403, "invalid or expired link")
    else:
        try:
            caller = await services.authenticator.authenticate(request.headers.get("authorization"))
        except Unauthorized as exc:
            return _error(401, exc.message)
        if row is None or row.org_id != caller.org_id:
            return _error(404, "no such artifact")
    assert row is not None

    size = row.size_bytes
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except Unsatisfiable:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    headers = _headers(row)
    span = wanted or ByteRange(0, size)
    headers["Content-Length"] = str(span.length)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = wanted.content_range(size)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    try:
        chunks = await access.store.read(row.storage_key, span.start, span.length)
    except ObjectMissing:
        return _error(404, "the artifact's content is missing from the store")
    except StorageError:
        return _error(503, "the artifact store is unavailable; try again")
    return StreamingResponse(chunks, status_code=status, headers=headers)


def _headers(row: Artifact) -> dict[str, str]:
    download = download_for(row)
    headers = {
        "Content-Type": download.content_type,
        "Content-Disposition": disposition(download),
        "Accept-Ranges": "bytes",
        "ETag": f'"{row.sha256}"',
        "Cache-Control": "private, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if download.attachment:
        # Even if a browser renders it anyway, it runs with no script and no origin.
        headers["Content-Security-Policy"] = "sandbox"
    return headers


routes = [Route(CONTENT_PATH, content, methods=["GET", "HEAD"])]
