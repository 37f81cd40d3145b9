"""What the server's CPU spends per OTLP span before the database, stage by stage: `parse`
(protobuf body to `ExportTraceServiceRequest`), `convert` (attributes mapped, spans
ordered) and `batch_of` (wire records for the ingest service). The 20k spans/s target
into one server process on two cores leaves some 25 µs per span for convert + batch_of.

Two loads: the ingest benchmark's agent traces (`_otlp_load`: 500-span bodies, GenAI chat
and tool spans under an `invoke_agent` root) and OpenInference LLM and retriever spans
with many flattened attributes (messages with parts and tool calls, documents, tools), so
that heavy case is watched too. Each stage is timed over every body, `--repeat` times; the
figures are the best and the median repetition, in µs of CPU per span (the wall time of
convert + batch_of beside them), with the machine's load average. The garbage collector
runs as in the server, which freezes what it made while starting (api/app.py). The last
line is JSON.

    .venv/bin/python tests/benchmarks/otlp_convert.py [--spans 20000] [--repeat 7]
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` when run as a script

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tests.benchmarks import _otlp_load
from tracewire.api.otlp._convert import convert
from tracewire.api.otlp._decode import PROTOBUF, parse
from tracewire.api.otlp._wire import batch_of

TARGET_US = 25.0  # convert + batch_of per span
ORG = uuid.UUID(int=7)
SPANS_PER_TRACE = 10
SPANS_PER_BODY = 500
STAGES = ("parse", "convert", "batch_of")
TOTALS = ("convert+batch_of", "convert+batch_of wall")
# CPU time of this thread: the server converts on a thread of its own (api/otlp/export.py),
# and on a box shared with Postgres wall time would count the others' turns too.
_cpu = time.thread_time_ns


def _openinference(n: int) -> dict[str, Any]:
    """An OpenInference LLM span as its instrumentations flatten it: a system and a
    two-part user message, an answer with a tool call, tools, parameters, raw bodies."""
    return {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.provider": "openai",
        "llm.invocation_parameters": '{"temperature": 0.2, "max_tokens": 512}',
        "llm.token_count.prompt": 1200 + n,
        "llm.token_count.completion": 80,
        "llm.token_count.prompt_details.cache_read": 1024,
        "input.value": '{"messages": [{"role": "user", "content": "hi"}]}',
        "input.mime_type": "application/json",
        "output.value": '{"choices": [{"message": {"content": "hello"}}]}',
        "output.mime_type": "application/json",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a shop assistant.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": f"Order {n}?",
        "llm.input_messages.1.message.contents.1.message_content.type": "image",
        "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/a",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"o": 1}',
        "llm.tools.0.tool.json_schema": '{"type": "function", "function": {"name": "lookup"}}',
        "llm.tools.1.tool.name": "clock",
        "llm.tools.1.tool.description": "The time now.",
        "session.id": f"s-{n}",
        "user.id": "u-1",
        "metadata": '{"team": "shop"}',
        "tag.tags": "a,b",
    }


def _retriever(n: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "openinference.span.kind": "RETRIEVER",
        "input.value": f"order {n}",
    }
    for i in range(8):
        prefix = f"retrieval.documents.{i}.document"
        attrs |= {
            f"{prefix}.id": f"doc-{i}",
            f"{prefix}.score": 1.0 - i / 10,
            f"{prefix}.content": f"Orders ship in {i + 1} days. " * 4,
            f"{prefix}.metadata": '{"source": "faq.md"}',
        }
    return attrs


def openinference_bodies(traces: int) -> list[bytes]:
    """Bodies of 10-span traces: a chain root, then LLM and retriever spans in turn."""
    now_ns = time.time_ns()
    per_body = SPANS_PER_BODY // SPANS_PER_TRACE
    encoded: list[bytes] = []
    for first in range(0, traces, per_body):
        spans: list[Span] = []
        for n in range(first, min(first + per_body, traces)):
            spans.extend(_openinference_trace(n, now_ns))
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=Resource(attributes=_otlp_load._attributes({"service.name": "rag"})),
                    scope_spans=[
                        ScopeSpans(scope=InstrumentationScope(name="openinference"), spans=spans)
                    ],
                )
            ]
        )
        encoded.append(request.SerializeToString())
    return encoded


def _openinference_trace(n: int, now_ns: int) -> list[Span]:
    spans = _otlp_load.trace_spans(SPANS_PER_TRACE, n, now_ns)
    root = spans[0]
    del root.attributes[:]
    root.attributes.extend(_otlp_load._attributes({"openinference.span.kind": "CHAIN"}))
    for index, span in enumerate(spans[1:], 1):
        del span.attributes[:]
        attrs = (_openinference if index % 2 else _retriever)(n)
        span.attributes.extend(_otlp_load._attributes(attrs))
    return spans


def measure(bodies: list[bytes], repeat: int) -> dict[str, dict[str, float]]:
    """Per stage, the best and median repetition in µs of CPU per span; and the wall time
    of convert + batch_of, for comparison."""
    spans = sum(
        len(scope.spans)
        for body in bodies
        for resource in parse(body, PROTOBUF).resource_spans
        for scope in resource.scope_spans
    )
    runs: dict[str, list[float]] = {stage: [] for stage in (*STAGES, *TOTALS)}
    for _ in range(repeat + 1):  # the first is a warm-up
        totals = dict.fromkeys((*STAGES, "wall"), 0)
        gc.collect()
        for body in bodies:
            started = _cpu()
            request = parse(body, PROTOBUF)
            parsed, wall = _cpu(), time.perf_counter_ns()
            converted = convert(request)
            done = _cpu()
            batch_of(ORG, converted.traces)
            totals["batch_of"] += _cpu() - done
            totals["wall"] += time.perf_counter_ns() - wall
            totals["parse"] += parsed - started
            totals["convert"] += done - parsed
        for stage, ns in totals.items():
            runs[stage if stage != "wall" else "convert+batch_of wall"].append(ns / 1000 / spans)
        runs["convert+batch_of"].append(runs["convert"][-1] + runs["batch_of"][-1])
    return {
        stage: {
            "best_us": round(min(values[1:]), 2),
            "median_us": round(statistics.median(values[1:]), 2),
        }
        for stage, values in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000, help="agent-trace spans per run")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    traces = max(args.spans // SPANS_PER_TRACE, SPANS_PER_BODY // SPANS_PER_TRACE)
    loads = {
        "agent": _otlp_load.bodies(traces, SPANS_PER_TRACE, SPANS_PER_BODY),
        "openinference": openinference_bodies(max(traces // 4, SPANS_PER_BODY // SPANS_PER_TRACE)),
    }
    # As the server does once started (api/app.py): what lives as long as the process is
    # out of the collector's sight, so a full collection walks only what requests made.
    gc.collect()
    gc.freeze()
    load_before = os.getloadavg()
    figures = {name: measure(bodies, args.repeat) for name, bodies in loads.items()}
    load_after = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load {load_before[0]:.2f} -> {load_after[0]:.2f}")
    for name, stages in figures.items():
        print(f"{name} spans (µs/span, best / median of {args.repeat}):")
        for stage, figure in stages.items():
            print(f"  {stage:<22} {figure['best_us']:7.2f} / {figure['median_us']:7.2f}")
    total = figures["agent"]["convert+batch_of"]["median_us"]
    print(f"agent convert+batch_of: {total:.2f} µs/span (target ≤ {TARGET_US})")
    result = {
        "load": [round(load_before[0], 2), round(load_after[0], 2)],
        "target_us": TARGET_US,
        "met": total <= TARGET_US,
        **figures,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
