"""An OTLP/HTTP request body into an `ExportTraceServiceRequest`, and the response back.

Protobuf (`application/x-protobuf`) and JSON (`application/json`) bodies, optionally
gzip-compressed. OTLP's JSON differs from protobuf's canonical JSON mapping in one place:
trace and span ids are hex, not base64, so they are converted before parsing.
"""

import base64
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tracewire.api.request_body import BodyError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_CONTENT_TYPES = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}
INVALID_ARGUMENT = 3  # google.rpc.Code


class OtlpError(BodyError):
    """A request refused as a whole, with its HTTP status."""


def content_type(header: str | None) -> str:
    """The body's format; 415 for anything but OTLP's protobuf and JSON."""
    media = (header or "").split(";", 1)[0].strip().lower()
    found = _CONTENT_TYPES.get(media)
    if found is None:
        raise OtlpError(
            415, f"unsupported content type {media or 'none'!r}: use {PROTOBUF} or {JSON}"
        )
    return found


def parse(raw: bytes, format: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        if format == PROTOBUF:
            request.ParseFromString(raw)
        else:
            document = orjson.loads(raw)
            if not isinstance(document, dict):
                raise OtlpError(400, "a JSON body must be an object")
            _hex_ids_to_base64(document)
            json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, orjson.JSONDecodeError, RecursionError) as error:
        raise OtlpError(400, f"malformed OTLP {format} body: {error}") from None
    return request


def response(message: Message, format: str) -> bytes:
    if format == PROTOBUF:
        encoded: bytes = message.SerializeToString()
        return encoded
    text: str = json_format.MessageToJson(message, indent=None)
    return text.encode()


def export_response(rejected: int, message: str) -> ExportTraceServiceResponse:
    answer = ExportTraceServiceResponse()
    if rejected or message:
        answer.partial_success.rejected_spans = rejected
        answer.partial_success.error_message = message
    return answer


def error_status(message: str, code: int = INVALID_ARGUMENT) -> Status:
    return Status(code=code, message=message)


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    for resource_spans in _list(document, "resourceSpans", "resource_spans"):
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            for span in _list(scope_spans, "spans"):
                _convert_ids(span)
                for link in _list(span, "links"):
                    _convert_ids(link)


def _convert_ids(holder: dict[str, Any]) -> None:
    for key in ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"):
        value = holder.get(key)
        if isinstance(value, str) and value:
            try:
                holder[key] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise OtlpError(400, f"{key} must be hex: {value!r}") from None


def _list(holder: Any, *keys: str) -> list[dict[str, Any]]:
    if not isinstance(holder, dict):
        return []
    for key in keys:
        value = holder.get(key)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    return []
