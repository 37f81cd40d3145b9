"""OTLP over gRPC: `TraceService/Export` on a port of its own (4317 by default), served by
grpc.aio on the server's event loop into the same ingest service, with the same keys and
the same mapping as OTLP/HTTP (api/otlp/routes.py).

Answers per the OTLP/gRPC spec: UNAUTHENTICATED without a valid key (`authorization`
metadata, Bearer or Basic), INVALID_ARGUMENT for a malformed request or data the database
refuses, RESOURCE_EXHAUSTED and UNAVAILABLE while the database is behind or away, with the
pause as a `google.rpc.RetryInfo` (which OTLP exporters honour), and a partial success in
the response for rejected spans. The `x-project-name` metadata routes a request's traces
to an agent, as the HTTP header does. Requests are capped at the HTTP cap (after gzip
decompression, which grpc does).
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import NoReturn, TypeAlias

import grpc
from google.protobuf.any_pb2 import Any as AnyDetail
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from grpc import StatusCode
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tracewire.api.auth import Authenticator, KeyCheckUnavailable, Unauthorized
from tracewire.api.ingest.service import Busy, IngestService, Refused, Unavailable
from tracewire.api.otlp import _decode
from tracewire.api.otlp._auth import caller_for
from tracewire.api.otlp.export import converted
from tracewire.api.otlp.routes import MAX_BODY_BYTES
from tracewire.api.ports import PortTaken, bind_error
from tracewire.api.request_body import BodyError
from tracewire.api.settings import DEFAULT_GRPC_PORT, ServerSettings

logger = logging.getLogger("tracewire.otlp")

SERVICE = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
# In-flight exports get this long to commit at shutdown; the ingest service outlives it.
GRACE_SECONDS = 2.0
_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_BODY_BYTES),
    # grpc sets SO_REUSEPORT by default: another collector on the port would then silently
    # share its connections with us, instead of the port counting as taken.
    ("grpc.so_reuseport", 0),
]


def check_port(settings: ServerSettings) -> None:
    """Raise `PortTaken` now when the port chosen explicitly is taken: before migrations and
    the rest of a start, as for the HTTP port. The default port is tried at start."""
    if settings.grpc_port:
        reason = bind_error(settings.host, settings.grpc_port)
        if reason is not None:
            raise _taken(settings.host, settings.grpc_port, reason)


@asynccontextmanager
async def serving_otlp_grpc(
    settings: ServerSettings, ingest: IngestService, authenticator: Authenticator
) -> AsyncIterator[int | None]:
    """OTLP/gRPC on `settings.host`:`settings.grpc_port` while the block runs; yields the
    port it listens on, or None.

    Port 0 is off; None is `DEFAULT_GRPC_PORT` when free: another collector holding it is
    no reason to refuse to start, so that is a warning, and no gRPC. A port chosen
    explicitly must be free (`PortTaken`)."""
    host, port = settings.host, settings.grpc_port
    if port == 0:
        yield None
        return
    wanted = port or DEFAULT_GRPC_PORT
    if port is None:
        # The HTTP socket is bound but not listening yet: a bind test would not see it.
        reason = "the HTTP port" if settings.port == wanted else bind_error(host, wanted)
        if reason is not None:
            _warn_default_taken(host, wanted, reason)
            yield None
            return
    server = grpc.aio.server(options=_OPTIONS)
    server.add_generic_rpc_handlers((_handler(_TraceService(ingest, authenticator)),))
    try:
        bound: int = server.add_insecure_port(_address(host, wanted))
    except RuntimeError:  # grpc has logged why (a rare race: the port was free just now)
        if port is not None:
            raise _taken(host, wanted, "taken since it was checked") from None
        _warn_default_taken(host, wanted, "taken since it was checked")
        yield None
        return
    await server.start()
    try:
        yield bound
    finally:
        await server.stop(GRACE_SECONDS)


# What grpc.aio hands a handler: the request's raw bytes (see `_handler`) and its context.
_Context: TypeAlias = grpc.aio.ServicerContext[bytes, ExportTraceServiceResponse]


class _TraceService:
    def __init__(self, ingest: IngestService, authenticator: Authenticator) -> None:
        self._ingest = ingest
        self._authenticator = authenticator

    async def export(self, raw: bytes, context: _Context) -> ExportTraceServiceResponse:
        metadata = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if isinstance(value, str)
        }
        try:
            caller = await caller_for(self._authenticator, metadata.get("authorization"))
            spans, batch = await converted(
                raw, _decode.PROTOBUF, metadata.get("x-project-name"), caller.org_id
            )
            if batch is not None:
                await self._ingest.submit(caller.org_id, batch)
        except Unauthorized as error:
            await _refuse(context, StatusCode.UNAUTHENTICATED, error.message)
        except KeyCheckUnavailable as error:
            await _refuse(context, StatusCode.UNAVAILABLE, error.message, 5.0)
        except BodyError as error:
            await _refuse(context, StatusCode.INVALID_ARGUMENT, error.message)
        except Refused as error:
            await _refuse(context, StatusCode.INVALID_ARGUMENT, str(error))
        except Busy as error:
            await _refuse(context, StatusCode.RESOURCE_EXHAUSTED, str(error), error.retry_after)
        except Unavailable as error:
            await _refuse(context, StatusCode.UNAVAILABLE, str(error), error.retry_after)
        return _decode.export_response(spans.rejected, spans.message)


def _handler(service: _TraceService) -> grpc.GenericRpcHandler:
    """`Export` without a request deserializer: the handler parses the bytes, so that a
    malformed request is an INVALID_ARGUMENT (grpc's own deserializing makes it UNKNOWN,
    logged with a traceback)."""
    export: grpc.RpcMethodHandler[bytes, ExportTraceServiceResponse]
    export = grpc.unary_unary_rpc_method_handler(
        service.export, response_serializer=ExportTraceServiceResponse.SerializeToString
    )
    return grpc.method_handlers_generic_handler(SERVICE, {"Export": export})


async def _refuse(
    context: _Context, code: StatusCode, message: str, retry_after: float | None = None
) -> NoReturn:
    """End the call with `code`; with `retry_after`, the pause as trailing metadata: a bare
    `RetryInfo` where OpenTelemetry's Python exporter reads it, and in the `google.rpc.Status`
    details where grpc-status readers (the Collector's and Go's exporters) do."""
    trailers: tuple[tuple[str, bytes], ...] = ()
    if retry_after is not None:
        info = RetryInfo()
        info.retry_delay.FromTimedelta(timedelta(seconds=max(1.0, retry_after)))
        detail = AnyDetail()
        detail.Pack(info)
        status = Status(code=code.value[0], message=message, details=[detail])
        trailers = (
            ("google.rpc.retryinfo-bin", info.SerializeToString()),
            ("grpc-status-details-bin", status.SerializeToString()),
        )
    await context.abort(code, message, trailers)
    # abort raises; this is for a type checker that sees grpc without its types.
    raise AssertionError("ServicerContext.abort returned")


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _taken(host: str, port: int, reason: str) -> PortTaken:
    return PortTaken(
        f"cannot listen for OTLP/gRPC on {host}:{port}: {reason} "
        "(--grpc-port chooses another port, or off)"
    )


def _warn_default_taken(host: str, port: int, reason: str) -> None:
    logger.warning(
        "tracewire: OTLP/gRPC is off: its default port %s:%d is taken (%s: another "
        "collector?); --grpc-port chooses another. OTLP/HTTP is on.",
        host,
        port,
        reason,
    )
