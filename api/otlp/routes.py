"""`POST /v1/traces` (OTLP/HTTP) and `POST /api/public/otel/v1/traces` (where the Langfuse
SDK sends the same OTLP), per the OTLP/HTTP spec: answered once the spans are committed,
200 with an `ExportTraceServiceResponse` in the request's format for a full or partial
success; every refusal has a `google.rpc.Status` body in the request's format too: 400
malformed, 401 no valid key, 413 over the size cap, 415 an unknown content type, 429 and
503 (with `Retry-After`, which OTLP exporters honour) while the database is behind or away.

The spans go through the server's one ingest service (`api.ingest`), like every protocol.
The `x-project-name` header routes a request's traces to an agent, as Phoenix's does.
"""

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracewire.api.auth import Unauthorized
from tracewire.api.ingest.service import Busy, IngestService, Refused, Unavailable
from tracewire.api.otlp import _decode
from tracewire.api.otlp._auth import caller_of
from tracewire.api.otlp._decode import JSON
from tracewire.api.otlp._langfuse import langfuse_routes
from tracewire.api.otlp.export import converted
from tracewire.api.request_body import BodyError, decompress, read_capped

logger = logging.getLogger("tracewire.otlp")

MAX_BODY_BYTES = 16 * 1024 * 1024
_UNAUTHENTICATED = 16  # google.rpc.Code
_RESOURCE_EXHAUSTED = 8
_UNAVAILABLE = 14


def otlp_routes(
    service: IngestService,
    max_body_bytes: int = MAX_BODY_BYTES,
    *,
    max_request_bytes: int = MAX_BODY_BYTES,
) -> list[Route]:
    """OTLP/HTTP, capped at `max_body_bytes` (compressed or not), and the rest of the
    Langfuse SDK's calls, capped at `max_request_bytes`."""

    async def traces(request: Request) -> Response:
        format = JSON
        try:
            format = _decode.content_type(request.headers.get("content-type"))
            caller = await caller_of(request)
            body = await read_capped(request, max_body_bytes)
            raw = decompress(body, request.headers.get("content-encoding"), max_body_bytes)
            spans, batch = await converted(
                raw, format, request.headers.get("x-project-name"), caller.org_id
            )
            if batch is not None:
                await service.submit(caller.org_id, batch)
        except Unauthorized as error:
            return _refusal(
                401,
                _UNAUTHENTICATED,
                error.message,
                format,
                {"WWW-Authenticate": 'Bearer, Basic realm="tracewire"'},
            )
        except BodyError as error:
            return _refusal(error.status, _decode.INVALID_ARGUMENT, error.message, format)
        except Busy as error:
            return _refusal(429, _RESOURCE_EXHAUSTED, str(error), format, _retry(error.retry_after))
        except Unavailable as error:
            return _refusal(503, _UNAVAILABLE, str(error), format, _retry(error.retry_after))
        except Refused as error:
            return _refusal(400, _decode.INVALID_ARGUMENT, str(error), format)
        answer = _decode.export_response(spans.rejected, spans.message)
        return Response(_decode.response(answer, format), media_type=format)

    return [
        Route("/v1/traces", traces, methods=["POST"]),
        Route("/api/public/otel/v1/traces", traces, methods=["POST"]),
        *langfuse_routes(max_request_bytes),
    ]


def _refusal(
    status: int, code: int, message: str, format: str, headers: dict[str, str] | None = None
) -> Response:
    body = _decode.response(_decode.error_status(message, code), format)
    return Response(body, status_code=status, media_type=format, headers=headers)


def _retry(after: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, round(after)))}
