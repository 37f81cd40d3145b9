"""What recording one step costs the agent's thread, in one process, four ways:

  (a) Tracewire: `with run.step("lookup", input=...) as step: step.output = ...`
  (b) OpenTelemetry SDK: a span with two attributes, BatchSpanProcessor + OTLP/HTTP exporter
  (c) langfuse SDK: `start_as_current_observation(name=..., input=...)` + `update(output=...)`
  (d) seed 000's writer: per event a transaction with SELECT max(seq) + INSERT (two events)

(b) and (c) export to an HTTP sink on a loopback port, (a) and (d) write to a scratch
database. Each step is timed on its own (perf_counter_ns); medians and p99s in µs, ratios of
medians from this same run. OTel gets its attributes as ready-made JSON strings (an OTel user
must serialise them; that cost is left out in its favour). The last line is JSON.

    .venv/bin/python tests/benchmarks/recorder_overhead.py [--steps 200000]
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` when run as a script

import asyncpg

from tests.benchmarks._scratch import local_http_sink, scratch_database, summary
from tracewire.db.engine import driver_dsn
from tracewire.recorder import Recorder, RecorderSettings

INPUT = {"question": "Where is my order?", "order": 1042}
OUTPUT = {"status": "shipped", "eta": "in 2 days"}
WARMUP = 1000
_now = time.perf_counter_ns


def bench_tracewire(url: str, steps: int, spool_dir: Path) -> list[int]:
    settings = RecorderSettings(org="bench", spool_dir=spool_dir)
    rec = Recorder(url, settings=settings)
    samples = []
    with rec.run("bench") as run:
        for _ in range(steps + WARMUP):
            started = _now()
            with run.step("lookup", input=INPUT) as step:
                step.output = OUTPUT
            samples.append(_now() - started)
    if not rec.close(60):
        raise SystemExit("tracewire: not everything was committed")
    return samples[WARMUP:]


def bench_otel(endpoint: str, steps: int) -> list[int]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
    )
    tracer = provider.get_tracer("bench")
    input_json, output_json = json.dumps(INPUT), json.dumps(OUTPUT)
    samples = []
    for _ in range(steps + WARMUP):
        started = _now()
        with tracer.start_as_current_span("lookup") as span:
            span.set_attribute("input.value", input_json)
            span.set_attribute("output.value", output_json)
        samples.append(_now() - started)
    provider.shutdown()
    return samples[WARMUP:]


def bench_langfuse(endpoint: str, steps: int) -> list[int]:
    from langfuse import Langfuse
    from opentelemetry.sdk.trace import TracerProvider

    langfuse = Langfuse(
        public_key="pk-lf-bench",
        secret_key="sk-lf-bench",
        host=endpoint,
        tracer_provider=TracerProvider(),  # its own, so it never sees (b)'s spans
    )
    samples = []
    for _ in range(steps + WARMUP):
        started = _now()
        with langfuse.start_as_current_observation(name="lookup", input=INPUT) as observation:
            observation.update(output=OUTPUT)
        samples.append(_now() - started)
    langfuse.shutdown()
    return samples[WARMUP:]


async def bench_naive(url: str, steps: int) -> list[int]:
    conn = await asyncpg.connect(driver_dsn(url))
    await conn.execute(
        "CREATE TABLE brain_run_events (id bigserial PRIMARY KEY, run_id int NOT NULL, "
        "seq int NOT NULL, node_name text NOT NULL, event_type text NOT NULL, "
        "payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
        "UNIQUE (run_id, seq))"
    )

    async def emit_event(event_type: str, payload: dict[str, object]) -> None:
        async with conn.transaction():
            last = await conn.fetchval(
                "SELECT seq FROM brain_run_events WHERE run_id = 1 ORDER BY seq DESC LIMIT 1"
            )
            await conn.execute(
                "INSERT INTO brain_run_events (run_id, seq, node_name, event_type, payload) "
                "VALUES (1, $1, 'lookup', $2, $3::jsonb)",
                (last or 0) + 1,
                event_type,
                json.dumps(payload),
            )

    samples = []
    for _ in range(steps + WARMUP // 10):
        started = _now()
        await emit_event("input", {"state": INPUT})
        await emit_event("output", {"state": OUTPUT})
        samples.append(_now() - started)
    await conn.close()
    return samples[WARMUP // 10 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200_000, help="steps for (a)")
    args = parser.parse_args()
    steps = args.steps
    with (
        scratch_database("tracewire_bench_overhead") as (_, url),
        local_http_sink() as sink,
        tempfile.TemporaryDirectory() as spool_dir,
    ):
        figures = {
            "tracewire": summary(bench_tracewire(url, steps, Path(spool_dir))),
            "otel": summary(bench_otel(sink, max(steps // 4, 1000))),
            "langfuse": summary(bench_langfuse(sink, max(steps // 20, 1000))),
            "naive": summary(asyncio.run(bench_naive(url, max(steps // 100, 200)))),
        }
    base = figures["tracewire"]["median_us"]
    for name, figure in figures.items():
        print(f"{name:>10}: median {figure['median_us']:9.2f} µs   p99 {figure['p99_us']:9.2f} µs")
    result = {
        **figures["tracewire"],
        "otel_ratio": round(figures["otel"]["median_us"] / base, 1),
        "langfuse_ratio": round(figures["langfuse"]["median_us"] / base, 1),
        "naive_ratio": round(figures["naive"]["median_us"] / base, 1),
        "peers": {name: figure for name, figure in figures.items() if name != "tracewire"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
