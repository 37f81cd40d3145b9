"""Span attributes into step fields, on plain attribute maps: OpenInference's flattened
messages, documents and tools, prompt-cache counts by each convention's rules, and the
project a request or resource routes its traces to; and that conversion's fast paths (ids,
times, JSON, wire records) give what the slow ones they replace gave."""

import dataclasses
import random
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tracewire.api.otlp._convert import SpanError, SpanRecord, TraceBatch, _clock, convert
from tracewire.api.otlp._mapping import map_span
from tracewire.api.otlp._values import Precedence, integer, json_text
from tracewire.api.otlp._wire import batch_of
from tracewire.db.enums import StepType
from tracewire.db.otel_ids import run_bytes, run_id_for, step_hex, step_id_for
from tracewire.recorder._prepare import prepare
from tracewire.recorder._records import STEP_ENDED, STEP_STARTED, ErrorInfo, StepStarted
from tracewire.recorder._serialize import to_json

CHAT = {
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Answer in French.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.contents.0.message_content.type": "text",
    "llm.input_messages.1.message.contents.0.message_content.text": "What is this?",
    "llm.input_messages.1.message.contents.1.message_content.type": "image",
    "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/c.png",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "describe",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"n": 1}',
}


def test_flattened_openinference_messages_become_the_prompt_and_completion() -> None:
    fields = map_span({"openinference.span.kind": "LLM", **CHAT})

    assert fields.type is StepType.LLM_CALL
    assert fields.input == [
        {"role": "system", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "url": "https://x/c.png"},
            ],
        },
    ]
    assert fields.output == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "describe", "arguments": {"n": 1}},
                }
            ],
        }
    ]
    assert fields.details["system_instructions"] == "Answer in French."


def test_an_llm_spans_messages_win_over_its_input_value_and_other_spans_keep_input_value() -> None:
    raw = {"input.value": '{"body": "raw request"}', "output.value": "raw response", **CHAT}

    llm = map_span({"openinference.span.kind": "LLM", **raw})
    chain = map_span({"openinference.span.kind": "CHAIN", **raw})

    assert llm.input[1]["role"] == "user" and llm.output[0]["role"] == "assistant"
    assert (chain.input, chain.output) == ({"body": "raw request"}, "raw response")
    # Still read for the system prompt when input.value won.
    assert chain.details["system_instructions"] == "Answer in French."


def test_genai_and_langfuse_inputs_win_over_openinference_messages() -> None:
    genai = '[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]'
    fields = map_span({"openinference.span.kind": "LLM", "gen_ai.input.messages": genai, **CHAT})
    langfuse = map_span({"langfuse.observation.input": '"typed by hand"', **CHAT})

    assert fields.input == [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    assert langfuse.input == "typed by hand"


def test_legacy_completion_prompts_and_choices_are_their_texts() -> None:
    fields = map_span(
        {
            "openinference.span.kind": "LLM",
            "llm.prompts.0.prompt.text": "def fib(n):",
            "llm.choices.0.completion.text": " return n",
        }
    )

    assert (fields.input, fields.output) == ("def fib(n):", " return n")


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        # OpenInference and OTel GenAI: the prompt count includes cache reads and writes.
        (
            {
                "llm.model_name": "claude-sonnet-4-20250514",
                "llm.token_count.prompt": 10_000,
                "llm.token_count.completion": 1_000,
                "llm.token_count.prompt_details.cache_read": 6_000,
                "llm.token_count.prompt_details.cache_write": 2_000,
            },
            (10_000, 6_000, 2_000),
        ),
        (
            {
                "gen_ai.request.model": "claude-sonnet-4",
                "gen_ai.usage.input_tokens": 10_000,
                "gen_ai.usage.output_tokens": 1_000,
                "gen_ai.usage.cache_read.input_tokens": 6_000,
                "gen_ai.usage.cache_creation.input_tokens": 2_000,
            },
            (10_000, 6_000, 2_000),
        ),
        # Langfuse's normalised usage keeps cached tokens out of `input`.
        (
            {
                "langfuse.observation.model.name": "claude-sonnet-4",
                "langfuse.observation.usage_details": '{"input": 2000, "output": 1000, '
                '"input_cache_read": 6000, "input_cache_creation": 2000}',
            },
            (10_000, 6_000, 2_000),
        ),
        # Anthropic's raw usage, as Langfuse passes it on: input_tokens excludes the cache.
        (
            {
                "langfuse.observation.model.name": "claude-sonnet-4",
                "langfuse.observation.usage_details": '{"input_tokens": 2000, "output_tokens": '
                '1000, "cache_read_input_tokens": 6000, "cache_creation_input_tokens": 2000}',
            },
            (10_000, 6_000, 2_000),
        ),
        # A GenAI exporter that left the cache out of its prompt count (cached > prompt).
        (
            {
                "gen_ai.request.model": "claude-sonnet-4",
                "gen_ai.usage.input_tokens": 2_000,
                "gen_ai.usage.output_tokens": 1_000,
                "gen_ai.usage.cache_read_input_tokens": 6_000,
                "gen_ai.usage.cache_creation_input_tokens": 2_000,
            },
            (10_000, 6_000, 2_000),
        ),
    ],
)
def test_cache_tokens_are_parts_of_the_prompt_count_and_priced_at_cache_rates(
    attrs: dict[str, Any], expected: tuple[int, int, int]
) -> None:
    fields = map_span(attrs)

    assert (fields.input_tokens, fields.cache_read_tokens, fields.cache_write_tokens) == expected
    assert fields.details["usage"] == {
        "cache_read_input_tokens": 6_000,
        "cache_creation_input_tokens": 2_000,
    }
    # claude-sonnet-4: $3 input, $0.30 cache read, $3.75 cache write, $15 output per million.
    uncached = 2_000 * 3.00 + 6_000 * 0.30 + 2_000 * 3.75 + 1_000 * 15.00
    assert fields.cost == pytest.approx(uncached / 1e6)


def test_openai_raw_usage_in_langfuse_counts_cached_tokens_inside_the_prompt() -> None:
    usage = _json(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 10,
            "total_tokens": 1010,
            "prompt_tokens_details": {"cached_tokens": 800},
        }
    )
    fields = map_span(
        {"langfuse.observation.model.name": "gpt-4o", "langfuse.observation.usage_details": usage}
    )

    assert (fields.input_tokens, fields.cache_read_tokens) == (1000, 800)
    assert fields.cost == pytest.approx((200 * 2.50 + 800 * 1.25 + 10 * 10.00) / 1e6)


def test_a_reported_cost_is_kept_as_sent() -> None:
    fields = map_span(
        {
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 1000,
            "llm.token_count.prompt_details.cache_read": 800,
            "llm.cost.total": 0.5,
        }
    )

    assert fields.cost == 0.5


def test_retrieved_documents_keep_their_order_id_score_content_and_metadata() -> None:
    fields = map_span(
        {
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.1.document.id": 7,
            "retrieval.documents.1.document.content": "second",
            "retrieval.documents.0.document.id": "doc-a",
            "retrieval.documents.0.document.score": 0.91,
            "retrieval.documents.0.document.content": "first",
            "retrieval.documents.0.document.metadata": '{"source": "faq.md"}',
        }
    )

    assert fields.type is StepType.TOOL_CALL
    assert fields.details["documents"] == [
        {"id": "doc-a", "score": 0.91, "content": "first", "metadata": {"source": "faq.md"}},
        {"id": "7", "score": None, "content": "second", "metadata": None},
    ]


def test_invocation_parameters_merge_with_langfuse_over_genai_over_openinference() -> None:
    fields = map_span(
        {
            "llm.invocation_parameters": '{"temperature": 0.1, "top_p": 0.5, "seed": 3}',
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 256,
            "langfuse.observation.model.parameters": '{"temperature": 0.3}',
        }
    )

    assert fields.details["invocation_parameters"] == {
        "temperature": 0.3,
        "top_p": 0.5,
        "seed": 3,
        "max_tokens": 256,
    }


def test_tool_definitions_come_from_genai_else_from_openinference_tools() -> None:
    schema = {"type": "function", "function": {"name": "lookup"}}
    genai = map_span({"gen_ai.tool.definitions": f"[{_json(schema)}]", **_oi_tools()})
    openinference = map_span(_oi_tools())

    assert genai.details["tool_definitions"] == [schema]
    assert openinference.details["tool_definitions"] == [
        {"type": "function", "function": {"name": "search"}},
        {"name": "clock", "description": "The time now."},
    ]


def test_genai_system_instructions_are_their_text() -> None:
    fields = map_span(
        {
            "gen_ai.system_instructions": '[{"type": "text", "content": "Be brief."}, '
            '{"type": "text", "content": "Cite sources."}]'
        }
    )

    assert fields.details["system_instructions"] == "Be brief.\nCite sources."


def test_a_span_without_any_of_it_adds_nothing_to_the_payload() -> None:
    assert map_span({"gen_ai.request.model": "gpt-4o"}).details == {}


def _oi_tools() -> dict[str, Any]:
    return {
        "llm.tools.0.tool.json_schema": '{"type": "function", "function": {"name": "search"}}',
        "llm.tools.1.tool.name": "clock",
        "llm.tools.1.tool.description": "The time now.",
    }


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _request(resources: list[dict[str, Any]]) -> ExportTraceServiceRequest:
    """An export request with one span for each resource's attributes."""
    spans: list[ReadableSpan] = []
    for attributes in resources:
        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create(attributes))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("tests").start_as_current_span("root"):
            pass
        provider.shutdown()
        spans.extend(exporter.get_finished_spans())
    return encode_spans(spans)


def test_traces_are_routed_by_the_resources_project_name_over_the_requests_project() -> None:
    request = _request([{"openinference.project.name": "checkout"}, {"service.name": "svc"}])

    named, unnamed = convert(request, project="from-header").traces

    assert (named.project, unnamed.project) == ("checkout", "from-header")
    assert [t.project for t in convert(request).traces] == ["checkout", None]


def test_a_blank_project_name_routes_nowhere() -> None:
    request = _request([{"openinference.project.name": "  "}])

    assert [t.project for t in convert(request, project="").traces] == [None]


# -- the fast paths give what the slow ones gave -----------------------------------------


def test_run_and_step_ids_are_the_uuid5_ids_of_db_otel_ids() -> None:
    # The ids stored before they were derived without UUID objects: they must not change.
    namespace = uuid.UUID("5b0f6f0e-7a8e-4c1b-9a57-3c1f3e0a7e11")
    rng = random.Random(7)
    for _ in range(200):
        org_id = uuid.UUID(int=rng.getrandbits(128))
        trace_id, span_id = rng.randbytes(16), rng.randbytes(8)
        run_id = uuid.uuid5(namespace, f"{org_id}:{trace_id.hex()}")
        step_id = uuid.uuid5(run_id, span_id.hex())

        assert run_id_for(org_id, trace_id) == run_id
        assert run_bytes(str(org_id), trace_id) == run_id.bytes
        assert step_id_for(run_id, span_id) == step_id
        assert step_hex(run_id.bytes, span_id) == step_id.hex


@pytest.mark.parametrize(
    "seconds", [1, 999, 1_600_000_000, 1_767_225_599, 1_900_000_000, 4_000_000_000]
)
def test_span_times_are_what_datetime_makes_of_their_nanoseconds(seconds: int) -> None:
    rng = random.Random(seconds)
    # Sub-microsecond parts that round either way, and random ones.
    parts = [0, 1, 499, 500, 501, 999_999_499, 999_999_500, 999_999_999]
    parts += [rng.randrange(1_000_000_000) for _ in range(300)]
    for part in parts:
        nanos = seconds * 1_000_000_000 + part
        at = datetime.fromtimestamp(nanos / 1e9, UTC)

        assert _clock(nanos) == (at.timestamp(), at.isoformat())
    assert _clock(0) == (None, None)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, True, None], "b": {"c": "é"}},
        ["nul\x00inside", {"k": "\x00"}],
        "an escaped \\u0000 is text, not a NUL",
        {1: "a key that is not text"},
        {"big": 2**70},
        {"surrogate": "\ud800"},
        {"bytes": b"\x01\x02"},
        (1, 2),
        float("nan"),
    ],
)
def test_json_text_is_what_the_recorder_stores_for_any_value(value: Any) -> None:
    assert json_text(value) == to_json(value)


def test_the_strongest_key_present_and_not_empty_wins_in_any_attribute_order() -> None:
    picks = Precedence({"model": ("a.model", "b.model", "c.model")}, groups={"meta": ("meta.",)})
    attrs = {"c.model": "c", "meta.x": 1, "a.model": "", "b.model": "b", "o": 2, "meta.y": 3}

    for order in (list(attrs), list(reversed(attrs))):
        picked, grouped = picks.pick({key: attrs[key] for key in order})
        assert picked == {"model": "b"}
        assert grouped == {"meta": {k: attrs[k] for k in order if k.startswith("meta.")}}
    assert picks.pick({"a.model": None, "other": 1}) == ({}, {})


def test_a_key_under_a_group_or_of_two_names_is_refused() -> None:
    with pytest.raises(ValueError, match="under a group"):
        Precedence({"x": ("meta.x",)}, groups={"meta": ("meta.",)})
    with pytest.raises(ValueError, match="two things"):
        Precedence({"x": ("k",), "y": ("k",)}, groups={})


def test_a_spans_wire_records_are_what_prepare_makes_of_its_raw_records() -> None:
    """`batch_of` builds a span's records itself; `prepare`, which builds an agent's, must
    find nothing to change in them: NULs, counts, costs, errors, missing times."""
    org_id, trace_id = uuid.UUID(int=5), bytes(range(1, 17))
    base = map_span({"gen_ai.operation.name": "chat", "gen_ai.input.messages": '["hi"]'})
    fractional, text_count = cast(Any, 7.9), cast(Any, "12")  # counts no mapping makes
    odd = [
        dataclasses.replace(base, model="m\x00odel", vendor="v", input_tokens=2**40,
                            output_tokens=fractional, cost=float("nan"), output={"o": "\x00"}),
        dataclasses.replace(base, input_tokens=-3, output_tokens=text_count, cost=2e10),
        dataclasses.replace(base, cost=0.25, output=None, input=None),
    ]  # fmt: skip
    spans = [
        SpanRecord(bytes([9] * 8), None, "ro\x00ot", odd[0], None, '{"p": 1}', 10.0, 12.5),
        SpanRecord(bytes([8] * 8), bytes([9] * 8), "", odd[1],
                   SpanError("E", "bo\x00om", "trace"), None, None, None),
        SpanRecord(bytes([7] * 8), bytes([6] * 8), "orphan", odd[2], SpanError("E", "m"),
                   '{"p": 2}', 11.0, None),
    ]  # fmt: skip
    trace = TraceBatch(trace_id, {}, spans)

    records = batch_of(org_id, [trace]).records
    steps = [r for r in records if r.kind in (STEP_STARTED, STEP_ENDED)]
    now = next(r.started_at for r in steps if r.kind == STEP_STARTED and r.name == "span")

    run_id = run_id_for(org_id, trace_id)
    expected: list[Any] = []
    for span in spans:
        f = span.fields
        step = step_id_for(run_id, span.span_id).int
        parent = None if span.parent_span_id is None else step_id_for(run_id, span.parent_span_id)
        started = _utc(span.started_at if span.started_at is not None else now)
        ended = _utc(span.ended_at) if span.ended_at is not None else started
        error = None
        if span.error is not None:
            error = ErrorInfo(span.error.message, span.error.code, span.error.stacktrace)
        start = prepare(
            (STEP_STARTED, step, run_id.int, parent, span.name or "span", f.type.value,
             f.input, None, f.model, f.vendor, started),
            0.0,
        )  # fmt: skip
        assert isinstance(start, StepStarted)
        expected.append(start._replace(payload=span.payload))
        expected.append(
            prepare(
                (STEP_ENDED, step, run_id.int, "failed" if error else "completed", f.output,
                 None, None, None, f.input_tokens, f.output_tokens, f.cost, error, ended,
                 started),
                0.0,
            )
        )  # fmt: skip
    assert steps == expected
    assert [type(r) for r in steps] == [type(r) for r in expected]


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.mark.parametrize("count", [float("nan"), float("inf"), "inf", "nan", "many"])
def test_a_token_count_that_is_not_a_number_is_left_out(count: object) -> None:
    assert integer(count) is None
