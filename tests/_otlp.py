"""Spans made by the real OpenTelemetry SDK, encoded the way its OTLP exporters send them,
and a wait for what the server's recorder writes."""

import base64
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._poll import DEFAULT_WITHIN, wait_until
from tracewire.db.engine import session_factory
from tracewire.db.models import Run, Step


def make_spans(build: Callable[[Tracer], None], service: str = "shop-agent") -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    build(provider.get_tracer("tests.otlp", "1.0"))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def protobuf_body(spans: Sequence[ReadableSpan]) -> bytes:
    body: bytes = encode_spans(spans).SerializeToString()
    return body


def json_body(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """OTLP/JSON: protobuf's JSON mapping, except that ids are hex (not base64)."""
    document: dict[str, Any] = json_format.MessageToDict(encode_spans(spans))
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _b64_to_hex(span[key])
    return document


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def trace_id_of(spans: Sequence[ReadableSpan]) -> bytes:
    context = spans[0].context
    assert context is not None
    trace_id: int = context.trace_id
    return trace_id.to_bytes(16, "big")


async def wait_for_steps(
    engine: AsyncEngine, run_id: uuid.UUID, count: int, wait: float = DEFAULT_WITHIN
) -> tuple[Run, list[Step]]:
    """The run and its steps (in seq order) once `count` steps are written and finished."""
    sessions = session_factory(engine)
    seen: list[Step] = []

    async def written() -> tuple[Run, list[Step]] | None:
        async with sessions() as session:
            run = await session.get(Run, run_id)
            steps = list(
                await session.scalars(select(Step).where(Step.run_id == run_id).order_by(Step.seq))
            )
        seen[:] = steps
        if run is not None and len(steps) >= count and all(s.ended_at for s in steps):
            return run, steps
        return None

    return await wait_until(
        written, within=wait, what=lambda: f"run {run_id}: {len(seen)} of {count} steps"
    )
