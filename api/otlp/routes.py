"""`POST /v1/traces` (OTLP/HTTP) and `POST /api/public/otel/v1/traces` (where the Langfuse
SDK sends the same OTLP), per the OTLP/HTTP spec: a full or partial success answers 200
with an `ExportTraceServiceResponse` in the request's format; a malformed body 400, one over
the size cap 413, an unknown content type 415, all with a `google.rpc.Status` body."""

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tracewire.api.auth import Unauthorized
from tracewire.api.context import services_of
from tracewire.api.otlp import _decode
from tracewire.api.otlp._auth import caller_of
from tracewire.api.otlp._convert import convert
from tracewire.api.otlp._decode import JSON, OtlpError
from tracewire.api.otlp._ingest import OtlpIngest
from tracewire.api.otlp._langfuse import langfuse_routes

logger = logging.getLogger("tracewire.otlp")

MAX_BODY_BYTES = 16 * 1024 * 1024


def otlp_routes(ingest: OtlpIngest, max_body_bytes: int = MAX_BODY_BYTES) -> list[Route]:
    async def traces(request: Request) -> Response:
        format = JSON
        try:
            caller = await caller_of(request)
            format = _decode.content_type(request.headers.get("content-type"))
            body = await _read_capped(request, max_body_bytes)
            raw = _decode.decompress(body, request.headers.get("content-encoding"), max_body_bytes)
            converted = convert(_decode.parse(raw, format))
        except Unauthorized as error:
            return JSONResponse(
                {"code": 16, "message": error.message},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer, Basic realm="tracewire"'},
            )
        except OtlpError as error:
            body = _decode.response(_decode.error_status(error.message), format)
            return Response(body, status_code=error.status, media_type=format)
        recorder = await ingest.recorder_for(services_of(request).sessions, caller.org_id)
        ingest.record(recorder, caller.org_id, converted.traces)
        answer = _decode.export_response(converted.rejected, converted.message)
        return Response(_decode.response(answer, format), media_type=format)

    return [
        Route("/v1/traces", traces, methods=["POST"]),
        Route("/api/public/otel/v1/traces", traces, methods=["POST"]),
        *langfuse_routes(ingest),
    ]


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise OtlpError(413, f"body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise OtlpError(413, f"body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise OtlpError(400, "client disconnected before the body ended") from None
    return b"".join(chunks)
