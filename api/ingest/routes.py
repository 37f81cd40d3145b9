"""`POST /v1/ingest`: the recorder's batches (see `wire`), in the organization of the
caller's API key. Answered once the batch is committed:

- 200 `{"stored": true, "records": n}`, or `"stored": false` for a batch committed before
  (a retry whose first answer was lost: stored once);
- errors answer `{"error": message}`: 400 malformed, 401 no valid key, 403 runs of
  another organization, 413 too large, 415 not this format, 422 data the database refuses;
- 409 runs not opened yet (another process's batch that opens them is on its way), 429 the
  queue is full, 503 the database is away: each with `Retry-After`, for the same batch.

`POST /v1/ingest/heartbeat` `{"runs": [hex ids]}` marks the caller's open runs alive.
"""

import logging
import uuid
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.api.ingest import wire
from tracewire.api.ingest.json_depth import check_depth
from tracewire.api.ingest.orgs import org_slug
from tracewire.api.ingest.service import Busy, IngestService, Refused, Unavailable
from tracewire.api.request_body import BodyError, decompress, parse_json, read_capped
from tracewire.db.enums import RunStatus
from tracewire.recorder.batch_store import ForeignRuns, UnknownRuns
from tracewire.storage.errors import InvalidKey
from tracewire.storage.keys import with_org

logger = logging.getLogger("tracewire.ingest")

MAX_BODY_BYTES = 64 * 1024 * 1024
_MEDIA_TYPES = (wire.MEDIA_TYPE, "application/json")
_MAX_HEARTBEAT_RUNS = 10_000
_HEARTBEAT = text(
    "UPDATE runs SET updated_at = now() WHERE id IN (SELECT id FROM runs "
    "WHERE id = ANY(CAST(:runs AS uuid[])) AND org_id = :org AND status = :running "
    "ORDER BY id FOR UPDATE SKIP LOCKED)"
)


def ingest_routes(service: IngestService) -> list[Route]:
    async def ingest(request: Request) -> Response:
        services = services_of(request)
        try:
            caller = await services.authenticator.authenticate(request.headers.get("authorization"))
            raw = await _body(request)
            slug = await org_slug(services.sessions, caller.org_id)
            batch = wire.decode_batch(raw, lambda key: _own_key(key, slug))
            check_depth(batch.records)
            stored = await service.submit(caller.org_id, batch)
        except Unauthorized as error:
            return _unauthorized(error)
        except BodyError as error:
            return _error(error.status, error.message)
        except ForeignRuns as error:
            return _error(403, str(error))
        except UnknownRuns as error:
            return _error(409, str(error), retry_after=1.0)
        except Busy as error:
            return _error(429, str(error), retry_after=error.retry_after)
        except Unavailable as error:
            return _error(503, str(error), retry_after=error.retry_after)
        except Refused as error:
            return _error(422, str(error))
        return JSONResponse({"stored": stored, "records": len(batch.records)})

    async def heartbeat(request: Request) -> Response:
        services = services_of(request)
        try:
            caller = await services.authenticator.authenticate(request.headers.get("authorization"))
            runs = _heartbeat_runs(await _body(request))
        except Unauthorized as error:
            return _unauthorized(error)
        except BodyError as error:
            return _error(error.status, error.message)
        try:
            async with services.engine.begin() as conn:
                await conn.execute(
                    _HEARTBEAT,
                    {"runs": runs, "org": caller.org_id, "running": RunStatus.RUNNING.value},
                )
        except Exception as error:  # the database is away: a heartbeat is not retried
            logger.warning("tracewire: heartbeat not stored: %s", error)
            return _error(503, "the database is unavailable: retry later", retry_after=1.0)
        return JSONResponse({"runs": len(runs)})

    return [
        Route("/v1/ingest", ingest, methods=["POST"]),
        Route("/v1/ingest/heartbeat", heartbeat, methods=["POST"]),
    ]


async def _body(request: Request) -> bytes:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in _MEDIA_TYPES:
        raise BodyError(415, f"unsupported content type {media or 'none'!r}: use {wire.MEDIA_TYPE}")
    body = await read_capped(request, MAX_BODY_BYTES)
    return decompress(body, request.headers.get("content-encoding"), MAX_BODY_BYTES)


def _own_key(key: str, slug: str) -> str:
    try:
        return with_org(key, slug)
    except InvalidKey as error:
        raise BodyError(400, f"invalid artifact storage key: {error}") from None


def _heartbeat_runs(raw: bytes) -> list[uuid.UUID]:
    try:
        document: Any = parse_json(raw)
        runs = document["runs"]
        if type(runs) is not list or len(runs) > _MAX_HEARTBEAT_RUNS:
            raise ValueError
        return [uuid.UUID(hex=run) for run in runs]
    except (BodyError, KeyError, TypeError, ValueError, AttributeError):
        raise BodyError(
            400, f'expected {{"runs": [run ids]}} (at most {_MAX_HEARTBEAT_RUNS})'
        ) from None


def _error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _unauthorized(error: Unauthorized) -> Response:
    return JSONResponse(
        {"error": error.message},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="tracewire"'},
    )
