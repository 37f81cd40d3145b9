"""OTLP over gRPC: the real OpenTelemetry SDK's gRPC exporter against a real server process
records runs and steps as OTLP/HTTP does; a raw grpc.aio channel gets the OTLP/gRPC status
codes (and the retry delay) for every refusal; the port is off, optional or required as
told."""

import asyncio
import base64
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._otlp import make_spans, protobuf_body, trace_id_of, wait_for_steps
from tests._poll import wait_until_blocking
from tests._server import ServerProcess, free_port, serving
from tracewire.api.auth import Authenticator
from tracewire.api.ingest.service import Busy, IngestService, Unavailable
from tracewire.api.keys import IssuedKey, revoke_api_key
from tracewire.api.otlp import run_id_for
from tracewire.api.otlp.grpc_receiver import SERVICE, serving_otlp_grpc
from tracewire.api.settings import DEFAULT_GRPC_PORT, ServerSettings
from tracewire.cli.commands import main
from tracewire.db.engine import session_factory
from tracewire.db.models import Run, Step
from tracewire.recorder._records import Batch

EXPORT = f"/{SERVICE}/Export"


@dataclass(frozen=True)
class GrpcServer:
    process: ServerProcess
    target: str  # host:port, as gRPC exporters take it


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GrpcServer]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("otlp-grpc")
    async with serving(database_url, workdir, "--grpc-port", str(port)) as process:
        yield GrpcServer(process, f"127.0.0.1:{port}")
        # Refusals and malformed requests were the clients' mistakes: none is a traceback.
        assert "Traceback" not in process.output(), process.output()


@pytest.fixture
async def key(engine: AsyncEngine) -> IssuedKey:
    return await new_org_key(engine)


def _agent_with_a_chat(tracer: Tracer) -> None:
    with tracer.start_as_current_span("invoke_agent billing") as agent:
        agent.set_attributes({"gen_ai.operation.name": "invoke_agent", "user.id": "user-7"})
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                }
            )
        with tracer.start_as_current_span("lookup") as tool:
            tool.set_attributes({"gen_ai.operation.name": "execute_tool"})


def _export_with_the_sdk(
    target: str,
    metadata: dict[str, str],
    build: Callable[[Tracer], None],
    compression: grpc.Compression = grpc.Compression.NoCompression,
) -> bytes:
    """`build`'s spans sent by the OTel SDK's gRPC exporter, flushed before this returns;
    their trace id."""
    exporter = OTLPSpanExporter(
        endpoint=target, insecure=True, headers=metadata, compression=compression
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "billing-service"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    seen = InMemorySpanExporter()  # only for the trace id
    provider.add_span_processor(SimpleSpanProcessor(seen))
    build(provider.get_tracer("tests.otlp_grpc", "1.0"))
    assert provider.force_flush(10_000)
    provider.shutdown()
    return trace_id_of(seen.get_finished_spans())


async def _export_raw(
    target: str,
    request: bytes,
    metadata: Sequence[tuple[str, str]] = (),
    compression: grpc.Compression = grpc.Compression.NoCompression,
) -> ExportTraceServiceResponse:
    """`request` (a serialized `ExportTraceServiceRequest`, or any bytes) sent as it is."""
    async with grpc.aio.insecure_channel(target) as channel:
        export: grpc.aio.UnaryUnaryMultiCallable[bytes, ExportTraceServiceResponse]
        export = channel.unary_unary(
            EXPORT, response_deserializer=ExportTraceServiceResponse.FromString
        )
        response: ExportTraceServiceResponse = await export(
            request, metadata=tuple(metadata), timeout=10, compression=compression
        )
        return response


async def _refusal(
    target: str,
    request: bytes,
    metadata: Sequence[tuple[str, str]] = (),
    compression: grpc.Compression = grpc.Compression.NoCompression,
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _export_raw(target, request, metadata, compression)
    return refused.value


def _bearer(key: IssuedKey | str) -> tuple[str, str]:
    return ("authorization", f"Bearer {key.secret if isinstance(key, IssuedKey) else key}")


def _basic(public_key: str, secret: str) -> tuple[str, str]:
    pair = base64.b64encode(f"{public_key}:{secret}".encode()).decode()
    return ("authorization", f"Basic {pair}")


async def _steps_of_org(engine: AsyncEngine, org_id: uuid.UUID) -> int:
    async with session_factory(engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(Step).where(Step.org_id == org_id)
        )
        return int(count or 0)


@pytest.mark.parametrize(
    "compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip], ids=["plain", "gzip"]
)
async def test_the_sdk_grpc_exporter_records_a_run_with_steps_under_their_parents(
    server: GrpcServer,
    engine: AsyncEngine,
    key: IssuedKey,
    caplog: pytest.LogCaptureFixture,
    compression: grpc.Compression,
) -> None:
    metadata = {"authorization": f"Bearer {key.secret}", "x-project-name": "billing-agent"}
    trace_id = await asyncio.to_thread(
        _export_with_the_sdk, server.target, metadata, _agent_with_a_chat, compression
    )

    run, steps = await wait_for_steps(engine, run_id_for(key.org_id, trace_id), 3)
    by_name = {step.name: step for step in steps}
    agent, chat, tool = (by_name[n] for n in ("invoke_agent billing", "chat gpt-4o-mini", "lookup"))
    assert (run.org_id, run.agent, run.user_id) == (key.org_id, "billing-agent", "user-7")
    assert run.metadata_["otel"]["resource"]["service.name"] == "billing-service"
    assert agent.parent_id is None
    assert chat.parent_id == tool.parent_id == agent.id
    assert run.status == "completed"
    assert (chat.type, chat.model, chat.vendor) == ("llm_call", "gpt-4o-mini", "openai")
    assert (chat.input_tokens, chat.output_tokens) == (1000, 100)
    assert tool.type == "tool_call"
    complaints = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith(("opentelemetry", "grpc"))
    ]
    assert not complaints


async def test_a_missing_bad_or_revoked_key_is_unauthenticated_and_writes_nothing(
    server: GrpcServer, engine: AsyncEngine, key: IssuedKey
) -> None:
    revoked = await new_org_key(engine)
    async with session_factory(engine).begin() as session:
        assert await revoke_api_key(session, revoked.public_key)
    request = protobuf_body(make_spans(_agent_with_a_chat))
    cases = [
        ((), "missing API key: send Authorization: Bearer <secret key>"),
        ((_bearer("sk-tw-wrong"),), "invalid API key"),
        ((_bearer(revoked),), "API key revoked"),
        (
            (("authorization", "Token abc"),),
            "malformed Authorization: expected 'Bearer <secret key>'",
        ),
        ((_basic(key.public_key, "sk-tw-wrong"),), "invalid API key pair"),
    ]
    for metadata, message in cases:
        refused = await _refusal(server.target, request, metadata)
        assert (refused.code(), refused.details()) == (grpc.StatusCode.UNAUTHENTICATED, message)
    assert await _steps_of_org(engine, revoked.org_id) == 0
    assert await _steps_of_org(engine, key.org_id) == 0


async def test_basic_public_and_secret_key_authenticate_as_the_langfuse_sdks_send_them(
    server: GrpcServer, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_with_a_chat)
    answer = await _export_raw(
        server.target, protobuf_body(spans), [_basic(key.public_key, key.secret)]
    )
    assert not answer.HasField("partial_success")
    run, _ = await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 3)
    assert run.org_id == key.org_id


async def test_one_orgs_key_writes_only_that_orgs_run(
    server: GrpcServer, engine: AsyncEngine, key: IssuedKey
) -> None:
    other = await new_org_key(engine)
    spans = make_spans(_agent_with_a_chat)
    await _export_raw(server.target, protobuf_body(spans), [_bearer(key)])
    trace_id = trace_id_of(spans)
    mine, _ = await wait_for_steps(engine, run_id_for(key.org_id, trace_id), 3)
    assert mine.org_id == key.org_id
    async with session_factory(engine)() as session:
        assert await session.get(Run, run_id_for(other.org_id, trace_id)) is None
    assert await _steps_of_org(engine, other.org_id) == 0


async def test_rejected_spans_are_a_partial_success_and_the_rest_is_recorded(
    server: GrpcServer, engine: AsyncEngine, key: IssuedKey
) -> None:
    spans = make_spans(_agent_with_a_chat)
    request = protobuf_body(spans)
    context = spans[0].context  # a leaf (the first to end): its id is in no other span
    assert context is not None
    span_id = context.span_id.to_bytes(8, "big")
    assert request.count(span_id) == 1
    answer = await _export_raw(server.target, request.replace(span_id, bytes(8)), [_bearer(key)])
    assert answer.partial_success.rejected_spans == 1
    await wait_for_steps(engine, run_id_for(key.org_id, trace_id_of(spans)), 2)


async def test_a_malformed_request_is_an_invalid_argument(
    server: GrpcServer, engine: AsyncEngine, key: IssuedKey
) -> None:
    refused = await _refusal(server.target, b"\xff\xff\xff not protobuf", [_bearer(key)])
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed" in (refused.details() or "")
    assert await _steps_of_org(engine, key.org_id) == 0


@pytest.mark.parametrize(
    "compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip], ids=["plain", "gzip"]
)
async def test_a_request_over_the_http_cap_is_refused_whole_even_gzipped_small(
    server: GrpcServer, key: IssuedKey, compression: grpc.Compression
) -> None:
    request = b"\x00" * (16 * 1024 * 1024 + 1)  # gzips to a few kilobytes
    refused = await _refusal(server.target, request, [_bearer(key)], compression)
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


class _Refusing(IngestService):
    """The ingest service while the database is behind or away: never started."""

    def __init__(self, database_url: str, error: Exception) -> None:
        super().__init__(database_url)
        self.error = error

    async def submit(self, org_id: uuid.UUID, batch: Batch) -> bool:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "delay"),
    [
        (Busy(2.5), grpc.StatusCode.RESOURCE_EXHAUSTED, 2.5),
        (Unavailable(0.2), grpc.StatusCode.UNAVAILABLE, 1.0),  # never sooner than HTTP's 1 s
    ],
    ids=["busy", "database-away"],
)
async def test_back_pressure_says_when_to_retry_in_a_retry_info(
    database_url: str,
    engine: AsyncEngine,
    key: IssuedKey,
    error: Exception,
    code: grpc.StatusCode,
    delay: float,
) -> None:
    port = free_port()
    settings = ServerSettings(database_url=database_url, grpc_port=port)
    authenticator = Authenticator(session_factory(engine), None)
    async with serving_otlp_grpc(settings, _Refusing(database_url, error), authenticator):
        request = protobuf_body(make_spans(_agent_with_a_chat))
        refused = await _refusal(f"127.0.0.1:{port}", request, [_bearer(key)])
    assert refused.code() == code
    trailers = {k: v for k, v in refused.trailing_metadata() or () if isinstance(v, bytes)}
    # Where OpenTelemetry's Python exporter reads it, and where grpc-status readers do.
    bare = RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
    status = Status.FromString(trailers["grpc-status-details-bin"])
    assert (status.code, status.message) == (code.value[0], refused.details())
    detailed = RetryInfo()
    assert status.details[0].Unpack(detailed)
    assert bare == detailed
    assert bare.retry_delay.ToTimedelta().total_seconds() == pytest.approx(delay)


@contextmanager
def _held(port: int, within: float = 30.0) -> Iterator[bool]:
    """`port` on 127.0.0.1 taken for the block (True), or taken by another process for
    `within` s (False: a collector on this machine, which holds it just the same). Another
    test session holding it for a moment (this test, or a server of its own) lets go."""
    with socket.socket() as holder:

        def bound() -> bool:
            try:
                holder.bind(("127.0.0.1", port))
            except OSError:
                return False
            holder.listen()
            return True

        try:
            wait_until_blocking(bound, within=within, every=0.1)
        except AssertionError:
            held = False
        else:
            held = True
        yield held


def _run_cli(*argv: str) -> int:
    """`tracewire ARGV` in-process, on a thread: the CLI calls `asyncio.run`."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(main, list(argv)).result()


def test_an_explicit_grpc_port_that_is_taken_fails_the_start_in_one_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    with _held(port):
        args = ["--port", str(free_port()), "--database-url", database_url]
        code = _run_cli("serve", *args, "--grpc-port", str(port))
    assert code == 1
    assert capsys.readouterr().err == (
        f"tracewire: error: cannot listen for OTLP/gRPC on 127.0.0.1:{port}: Address already "
        "in use (--grpc-port chooses another port, or off)\n"
    )


async def test_the_default_port_taken_by_another_collector_leaves_grpc_off_with_a_warning(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with _held(DEFAULT_GRPC_PORT):
        workdir = tmp_path_factory.mktemp("grpc-default")
        async with serving(database_url, workdir, default_grpc=True) as process:
            output = process.output()
    assert f"OTLP/gRPC is off: its default port 127.0.0.1:{DEFAULT_GRPC_PORT} is taken" in output
    assert "Traceback" not in output


async def test_grpc_port_off_listens_on_no_grpc_port(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, key: IssuedKey
) -> None:
    port = free_port()
    # The flag wins over the environment.
    env = {"TRACEWIRE_GRPC_PORT": str(port)}
    workdir = tmp_path_factory.mktemp("grpc-off")
    async with serving(database_url, workdir, "--grpc-port", "off", env=env):
        request = protobuf_body(make_spans(_agent_with_a_chat))
        refused = await _refusal(f"127.0.0.1:{port}", request, [_bearer(key)])
        assert refused.code() == grpc.StatusCode.UNAVAILABLE  # nothing listens there


@pytest.mark.parametrize(
    ("env", "flag", "port"),
    [
        ({}, None, None),
        ({"TRACEWIRE_GRPC_PORT": "4400"}, None, 4400),
        ({"TRACEWIRE_GRPC_PORT": "off"}, None, 0),
        ({"TRACEWIRE_GRPC_PORT": "4400"}, 0, 0),
        ({}, 4401, 4401),
    ],
)
def test_the_grpc_port_comes_from_the_environment_then_the_flag(
    env: dict[str, str], flag: int | None, port: int | None
) -> None:
    assert ServerSettings.from_env(env, grpc_port=flag).grpc_port == port


@pytest.mark.parametrize("port", [-1, 65536, 8000])
def test_a_grpc_port_out_of_range_or_the_http_ports_is_refused(port: int) -> None:
    with pytest.raises(ValueError, match="OTLP/gRPC port"):
        ServerSettings(port=8000, grpc_port=port)
