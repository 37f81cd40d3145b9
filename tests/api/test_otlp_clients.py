"""Real clients against a real server process: the OpenTelemetry SDK's OTLP/HTTP exporter,
and the Langfuse SDK with only its host changed. Neither logs a warning or an error."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Tracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._otlp import make_spans, trace_id_of, wait_for_steps
from tests._poll import wait_until
from tests._server import ServerProcess
from tracewire.api.otlp import run_id_for


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(database_url, tmp_path_factory.mktemp("otlp-server"))
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def _chat(tracer: Tracer) -> None:
    with tracer.start_as_current_span("agent") as agent:
        agent.set_attribute("openinference.span.kind", "AGENT")
        with tracer.start_as_current_span("ChatOpenAI") as llm:
            llm.set_attributes(
                {
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o",
                    "llm.token_count.prompt": 40,
                    "llm.token_count.completion": 8,
                    "session.id": "session-3",
                }
            )


def _no_client_complaints(caplog: pytest.LogCaptureFixture) -> None:
    complaints = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith(("langfuse", "opentelemetry"))
    ]
    assert not complaints, [r.getMessage() for r in complaints]


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
async def test_the_otlp_http_exporter_delivers_spans_that_become_steps(
    server: ServerProcess,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    compression: Compression,
) -> None:
    key = await new_org_key(engine)
    spans = make_spans(_chat)
    exporter = OTLPSpanExporter(
        endpoint=f"{server.http_url}/v1/traces",
        headers={"Authorization": f"Bearer {key.secret}"},
        compression=compression,
    )
    assert await asyncio.to_thread(exporter.export, spans) == SpanExportResult.SUCCESS
    exporter.shutdown()  # type: ignore[no-untyped-call]
    run, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 2)
    assert run.conversation_id == "session-3"
    agent, llm = steps if steps[0].name == "agent" else reversed(steps)
    assert (agent.type, llm.type, llm.parent_id) == ("node", "llm_call", agent.id)
    assert (llm.model, llm.input_tokens, llm.output_tokens) == ("gpt-4o", 40, 8)
    assert float(llm.cost or 0) == pytest.approx((40 * 2.5 + 8 * 10) / 1e6)
    _no_client_complaints(caplog)


async def test_the_langfuse_sdk_records_a_trace_with_a_generation_by_changing_its_host(
    server: ServerProcess, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    key = await new_org_key(engine)

    def trace_with_langfuse() -> None:
        from langfuse import Langfuse, observe, propagate_attributes

        client = Langfuse(host=server.http_url, public_key=key.public_key, secret_key=key.secret)
        assert client.auth_check()

        @observe()
        def answer(question: str) -> str:
            with client.start_as_current_observation(
                as_type="generation", name="draft", model="gpt-4o-mini"
            ) as generation:
                generation.update(
                    input=[{"role": "user", "content": question}],
                    output="It shipped.",
                    usage_details={"input": 1000, "output": 100},
                )
            return "It shipped."

        with propagate_attributes(user_id="user-1", session_id="session-1", tags=["beta"]):
            answer("where is 42?")
        client.flush()
        client.shutdown()

    with caplog.at_level(logging.DEBUG, logger="langfuse"):
        await asyncio.to_thread(trace_with_langfuse)
    _no_client_complaints(caplog)

    async def the_run() -> uuid.UUID | None:
        async with engine.connect() as conn:
            run_id: uuid.UUID | None = await conn.scalar(
                text("SELECT id FROM runs WHERE org_id = :org"), {"org": key.org_id}
            )
            return run_id

    run_id = await wait_until(the_run, what="a run recorded from the Langfuse trace")
    run, steps = await wait_for_steps(engine, run_id, 2)
    assert (run.agent, run.user_id, run.conversation_id, run.tags) == (
        "answer",
        "user-1",
        "session-1",
        ["beta"],
    )
    root, generation = steps if steps[0].name == "answer" else reversed(steps)
    assert (generation.name, generation.type, generation.parent_id) == (
        "draft",
        "llm_call",
        root.id,
    )
    assert (generation.model, generation.input_tokens, generation.output_tokens) == (
        "gpt-4o-mini",
        1000,
        100,
    )
    assert float(generation.cost or 0) == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
    assert generation.input == [{"role": "user", "content": "where is 42?"}]
    assert root.output == "It shipped."
    assert run.status == "completed"
