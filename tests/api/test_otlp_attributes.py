"""What OTLP spans carry besides the basics, sent by the real OpenTelemetry SDK and read back
over GraphQL: OpenInference's flattened messages as prompt and completion, prompt-cache
tokens priced at the cache rate, retrieved documents, system instructions, invocation
parameters, tool definitions, span events, and routing a trace to a project."""

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, data, new_org_key, serve
from tests._otlp import make_spans, protobuf_body, trace_id_of, wait_for_steps
from tracewire.api.keys import IssuedKey
from tracewire.db.otel_ids import run_id_for

PROTOBUF = {"Content-Type": "application/x-protobuf"}

STEP = """query ($traceId: String!, $spanId: String!) {
  stepBySpanId(traceId: $traceId, spanId: $spanId) {
    name type input output inputTokens outputTokens cost
    cachedInputTokens cacheCreationInputTokens
    documents { id score content metadata }
    systemInstructions invocationParameters toolDefinitions
    spanEvents { name time attributes }
    otelTraceId otelSpanId
    details { __typename ... on LlmCallDetails { prompt completion } }
  }
}"""


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


@pytest.fixture
async def key(engine: AsyncEngine) -> IssuedKey:
    return await new_org_key(engine)


async def _send(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    key: IssuedKey,
    spans: list[ReadableSpan],
    headers: Mapping[str, str] | None = None,
) -> None:
    response = await client.post(
        "/v1/traces",
        content=protobuf_body(spans),
        headers={**PROTOBUF, **bearer(key), **(headers or {})},
    )
    assert response.status_code == 200, response.text
    await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), len(spans))


async def _step(
    client: httpx.AsyncClient, key: IssuedKey, spans: list[ReadableSpan], name: str
) -> dict[str, Any]:
    (span,) = [s for s in spans if s.name == name]
    assert span.context is not None
    found = await data(
        client,
        STEP,
        key,
        traceId=f"{span.context.trace_id:032x}",
        spanId=f"{span.context.span_id:016x}",
    )
    step: dict[str, Any] = found["stepBySpanId"]
    assert step is not None, f"no step for span {name}"
    return step


def _one_span(name: str, attributes: Mapping[str, Any]) -> Callable[[Tracer], None]:
    def build(tracer: Tracer) -> None:
        with tracer.start_as_current_span(name) as span:
            span.set_attributes(dict(attributes))

    return build


async def test_an_llm_span_with_only_flattened_openinference_messages_shows_prompt_and_completion(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(
        _one_span(
            "ChatOpenAI",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "You sell shoes.",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "Where is order 42?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.contents.0.message_content.type": "text",
                "llm.output_messages.0.message.contents.0.message_content.text": "Let me look.",
                "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_9",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": (
                    '{"order": 42}'
                ),
            },
        )
    )
    await _send(client, engine, key, spans)

    step = await _step(client, key, spans, "ChatOpenAI")

    prompt = [
        {"role": "system", "content": "You sell shoes."},
        {"role": "user", "content": "Where is order 42?"},
    ]
    completion = [
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Let me look."}],
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": {"order": 42}},
                }
            ],
        }
    ]
    assert (step["type"], step["input"], step["output"]) == ("LLM_CALL", prompt, completion)
    assert step["details"] == {
        "__typename": "LlmCallDetails",
        "prompt": prompt,
        "completion": completion,
    }
    assert step["systemInstructions"] == "You sell shoes."


async def test_cached_prompt_tokens_are_counted_and_priced_at_the_models_cache_rates(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    def build(tracer: Tracer) -> None:
        with tracer.start_as_current_span("agent"):
            with tracer.start_as_current_span("openai") as openai:
                openai.set_attributes(
                    {
                        "openinference.span.kind": "LLM",
                        "llm.model_name": "gpt-4o-2024-08-06",
                        "llm.token_count.prompt": 10_000,
                        "llm.token_count.completion": 500,
                        "llm.token_count.prompt_details.cache_read": 8_000,
                    }
                )
            with tracer.start_as_current_span("anthropic") as anthropic:
                anthropic.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": "claude-sonnet-4-20250514",
                        "gen_ai.usage.input_tokens": 10_000,
                        "gen_ai.usage.output_tokens": 500,
                        "gen_ai.usage.cache_read.input_tokens": 6_000,
                        "gen_ai.usage.cache_creation.input_tokens": 3_000,
                    }
                )

    spans = make_spans(build)
    await _send(client, engine, key, spans)

    openai = await _step(client, key, spans, "openai")
    anthropic = await _step(client, key, spans, "anthropic")

    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens.
    assert (openai["inputTokens"], openai["cachedInputTokens"]) == (10_000, 8_000)
    assert openai["cacheCreationInputTokens"] is None
    assert openai["cost"] == pytest.approx(0.02)  # (2000 * 2.5 + 8000 * 1.25 + 500 * 10) / 1e6
    # claude-sonnet-4: $3 input, $0.30 cache read, $3.75 cache write, $15 output.
    assert (
        anthropic["inputTokens"],
        anthropic["cachedInputTokens"],
        anthropic["cacheCreationInputTokens"],
    ) == (10_000, 6_000, 3_000)
    assert anthropic["cost"] == pytest.approx(0.02355)  # (3000 + 1800 + 11250 + 7500) / 1e6


async def test_a_retriever_spans_documents_are_exposed_with_id_score_content_and_metadata(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(
        _one_span(
            "retrieve",
            {
                "openinference.span.kind": "RETRIEVER",
                "input.value": "return policy",
                "retrieval.documents.0.document.id": "faq-3",
                "retrieval.documents.0.document.score": 0.87,
                "retrieval.documents.0.document.content": "Returns within 30 days.",
                "retrieval.documents.0.document.metadata": '{"source": "faq.md"}',
                "retrieval.documents.1.document.id": "faq-9",
                "retrieval.documents.1.document.score": 0.42,
                "retrieval.documents.1.document.content": "Shipping is free.",
            },
        )
    )
    await _send(client, engine, key, spans)

    step = await _step(client, key, spans, "retrieve")

    assert (step["type"], step["input"]) == ("TOOL_CALL", "return policy")
    assert step["documents"] == [
        {
            "id": "faq-3",
            "score": 0.87,
            "content": "Returns within 30 days.",
            "metadata": {"source": "faq.md"},
        },
        {"id": "faq-9", "score": 0.42, "content": "Shipping is free.", "metadata": None},
    ]


async def test_system_instructions_parameters_tool_definitions_and_span_events_are_exposed(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}

    def build(tracer: Tracer) -> None:
        with tracer.start_as_current_span("chat") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.request.max_tokens": 300,
                    "gen_ai.system_instructions": '[{"type": "text", "content": "Be brief."}]',
                    "gen_ai.tool.definitions": orjson.dumps([tool]).decode(),
                    "gen_ai.input.messages": '[{"role": "user", "parts": []}]',
                }
            )
            span.add_event("gen_ai.content.chunk", {"index": 1})
            try:
                raise TimeoutError("upstream slow")
            except TimeoutError as error:
                span.record_exception(error)  # handled: the span still succeeds
            span.add_event("retry", {"attempt": 2})

    spans = make_spans(build)
    await _send(client, engine, key, spans)

    step = await _step(client, key, spans, "chat")

    assert step["systemInstructions"] == "Be brief."
    assert step["invocationParameters"] == {"temperature": 0.2, "max_tokens": 300}
    assert step["toolDefinitions"] == [tool]
    events = step["spanEvents"]
    assert [e["name"] for e in events] == ["gen_ai.content.chunk", "exception", "retry"]
    assert events[0]["attributes"] == {"index": 1}
    assert events[1]["attributes"]["exception.type"] == "TimeoutError"
    assert all(e["time"] is not None for e in events)
    (span,) = spans
    assert span.context is not None
    assert (step["otelTraceId"], step["otelSpanId"]) == (
        f"{span.context.trace_id:032x}",
        f"{span.context.span_id:016x}",
    )


async def test_a_span_that_carries_none_of_it_reads_as_empty_lists_and_nulls(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_one_span("plain", {"input.value": "x"}))
    await _send(client, engine, key, spans)

    step = await _step(client, key, spans, "plain")

    assert (step["documents"], step["spanEvents"]) == ([], [])
    assert step["cachedInputTokens"] is None
    assert step["systemInstructions"] is None
    assert step["invocationParameters"] is None
    assert step["toolDefinitions"] is None


def _spans_with_resource(attributes: Mapping[str, Any]) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(dict(attributes)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("tests.otlp").start_as_current_span("handle order"):
        pass
    provider.shutdown()
    return list(exporter.get_finished_spans())


async def test_a_resources_openinference_project_name_names_the_run(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = _spans_with_resource({"openinference.project.name": "checkout-bot"})
    await _send(client, engine, key, spans, headers={"x-project-name": "ignored"})

    run, _ = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 1)

    assert run.agent == "checkout-bot"


async def test_the_x_project_name_header_names_the_run(
    client: httpx.AsyncClient, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = _spans_with_resource({"service.name": "shop"})
    await _send(client, engine, key, spans, headers={"x-project-name": "returns-bot"})

    run, _ = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 1)

    assert run.agent == "returns-bot"
