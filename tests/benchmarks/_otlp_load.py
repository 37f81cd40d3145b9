"""OTLP/HTTP load for the ingest benchmark: agent traces (a root `invoke_agent` span with
GenAI chat and tool children, as tests/_otlp.py's SDK-made traces look) built straight as
opentelemetry-proto messages and serialised before the clock starts, so what is measured
is the server, not an SDK on the sending side."""

import os
import time
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

CONTENT_TYPE = "application/x-protobuf"
_OK = Status(code=Status.STATUS_CODE_OK)


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_value(value)) for key, value in values.items()]


def _chat(n: int) -> tuple[str, dict[str, Any]]:
    return "chat gpt-4o-mini", {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000 + n,
        "gen_ai.usage.output_tokens": 100 + n,
        "gen_ai.input.messages": f'[{{"role": "user", "content": "where is order {n}?"}}]',
        "gen_ai.output.messages": '[{"role": "assistant", "content": "shipped"}]',
    }


def _tool(n: int) -> tuple[str, dict[str, Any]]:
    return "execute_tool lookup", {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup",
        "gen_ai.tool.call.arguments": f'{{"order": {n}}}',
        "gen_ai.tool.call.result": '{"status": "shipped", "eta": "in 2 days"}',
    }


def trace_spans(spans_per_trace: int, n: int, now_ns: int) -> list[Span]:
    """One trace: its root first, then `spans_per_trace - 1` children, chat and tool calls
    in turn, each 5 ms long and back to back."""
    trace_id = os.urandom(16)
    root_id = os.urandom(8)
    step_ns = 5_000_000
    start = now_ns - spans_per_trace * step_ns
    spans = [
        Span(
            trace_id=trace_id,
            span_id=root_id,
            name="invoke_agent shop",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start,
            end_time_unix_nano=now_ns,
            attributes=_attributes(
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "shop",
                    "gen_ai.conversation.id": f"conv-{n}",
                }
            ),
            status=_OK,
        )
    ]
    for child in range(1, spans_per_trace):
        name, attributes = (_chat if child % 2 else _tool)(n)
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=os.urandom(8),
                parent_span_id=root_id,
                name=name,
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=start + child * step_ns,
                end_time_unix_nano=start + (child + 1) * step_ns,
                attributes=_attributes(attributes),
                status=_OK,
            )
        )
    return spans


def bodies(traces: int, spans_per_trace: int, spans_per_body: int) -> list[bytes]:
    """`ExportTraceServiceRequest` bodies of `spans_per_body` spans each (whole traces,
    one resource and scope per body, as an SDK's batch processor sends them)."""
    if spans_per_body % spans_per_trace:
        raise ValueError("a body holds whole traces: spans_per_body % spans_per_trace != 0")
    resource = Resource(attributes=_attributes({"service.name": "shop-agent"}))
    scope = InstrumentationScope(name="bench.otlp", version="1.0")
    now_ns = time.time_ns()
    per_body = spans_per_body // spans_per_trace
    encoded: list[bytes] = []
    for first in range(0, traces, per_body):
        spans = [
            span
            for n in range(first, min(first + per_body, traces))
            for span in trace_spans(spans_per_trace, n, now_ns)
        ]
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=spans)])
            ]
        )
        encoded.append(request.SerializeToString())
    return encoded
