"""Steps committed per second, sustained, through the recorder into Postgres (direct) and
into one `tracewire serve` process (HTTP), from 1, 4 and 16 concurrent runs (one recording
thread per run, one recorder); OTLP spans per second into that server; beside two
baselines measured in the same run on the same database: a raw binary COPY of the rows
the direct sink writes for the same steps (the ceiling), and seed 000's writer (per event
a transaction with SELECT max(seq) + INSERT, the floor).

Producers record as fast as the recorder's queue lets them: a producer pauses while more
than `--backlog` records wait, so the figure is what the writer commits, not what the
queue absorbs. Committed steps are counted from the recorder's stats over the window (over
HTTP a batch counts once the server answered, which it does after commit) and checked
against the database at the end. OTLP: pre-encoded `ExportTraceServiceRequest` bodies from
`--senders` concurrent keep-alive clients, timed until `count(*)` of the org's steps has
them all. Each figure comes with the machine's load and where the CPU went (this process,
the server, the Postgres backends of the scratch database). The last line is JSON.

    .venv/bin/python tests/benchmarks/ingest_throughput.py [--seconds 10] [--runs 1,4,16]
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` when run as a script

import asyncpg
import httpx
import psutil
from sqlalchemy import make_url

from tests._server import ServerProcess
from tests.benchmarks import _otlp_load
from tests.benchmarks._scratch import scratch_database
from tests.benchmarks.recorder_overhead import INPUT, OUTPUT, bench_naive
from tracewire.api.keys import create_api_key
from tracewire.db.engine import create_engine, driver_dsn, session_factory
from tracewire.recorder import MemorySink, Recorder, RecorderSettings
from tracewire.recorder._batch_plan import EVENT_COLUMNS, STEP_COLUMNS, plan
from tracewire.recorder._records import STEP_ENDED, STEP_STARTED, WireRecord
from tracewire.recorder.batch_store import connect

HTTP_TARGET = 30_000  # steps/s into one server process
OTLP_TARGET = 20_000  # spans/s into one server process
COPY_TARGET = 0.8  # direct sink / raw COPY
SPANS_PER_TRACE = 10
SPANS_PER_BODY = 500


# -- where the CPU goes ------------------------------------------------------------------


@dataclass
class Conditions:
    """The machine while a figure was measured: load average (1 min) at its start and end;
    per party, the CPU it used over the window and the time its threads were runnable but
    waited for a CPU (Linux's schedstat run delay), each as a share of the window's wall
    time (1.0 = one CPU busy, or one thread always waiting)."""

    load: tuple[float, float] = (0.0, 0.0)
    cpu: dict[str, float] = field(default_factory=dict)
    waited: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        shares = ", ".join(
            f"{name} {share:.0%}"
            + (f" (+{self.waited[name]:.0%} waiting for a CPU)" if name in self.waited else "")
            for name, share in self.cpu.items()
        )
        return f"load {self.load[0]:.2f}->{self.load[1]:.2f} on {os.cpu_count()} CPUs; {shares}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "load": list(self.load),
            "cpu": {k: round(v, 2) for k, v in self.cpu.items()},
            "waited": {k: round(v, 2) for k, v in self.waited.items()},
        }


_SCHEDSTAT = Path("/proc/self/schedstat").exists()


def _usage(process: psutil.Process) -> tuple[float, float]:
    """CPU seconds used so far, and seconds its live threads spent waiting for a CPU."""
    times = process.cpu_times()
    waited = 0
    if _SCHEDSTAT:
        for task in Path(f"/proc/{process.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):  # a thread gone
                waited += int((task / "schedstat").read_text().split()[1])
    return float(times.user + times.system), waited / 1e9


class CpuMeter:
    """What this process, the server process (if any) and the Postgres backends connected
    to the scratch database use (backends found by their process titles; the instance's
    shared processes, WAL writer included, are not counted)."""

    def __init__(self, database: str, server_pid: int | None = None) -> None:
        self._title = f" {database} "
        self._server = psutil.Process(server_pid) if server_pid else None

    def _parties(self) -> dict[str, dict[int, tuple[float, float]]]:
        parties: dict[str, dict[int, tuple[float, float]]] = {
            "bench": {os.getpid(): _usage(psutil.Process())}
        }
        if self._server is not None:
            parties["server"] = {self._server.pid: _usage(self._server)}
        parties["postgres"] = {}
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or ())
            if cmdline.startswith("postgres: ") and self._title in cmdline:
                with contextlib.suppress(psutil.Error, OSError):  # gone meanwhile
                    parties["postgres"][process.pid] = _usage(process)
        return parties

    @contextlib.contextmanager
    def window(self, into: Conditions) -> Iterator[None]:
        before, load, started = self._parties(), os.getloadavg()[0], time.perf_counter()
        yield
        after, elapsed = self._parties(), time.perf_counter() - started
        into.load = (round(load, 2), round(os.getloadavg()[0], 2))
        for party, processes in after.items():
            cpu = waited = 0.0
            for pid, (cpu_after, waited_after) in processes.items():
                cpu_before, waited_before = before[party].get(pid, (0.0, 0.0))
                cpu += cpu_after - cpu_before
                waited += waited_after - waited_before
            into.cpu[party] = cpu / elapsed
            if _SCHEDSTAT:
                into.waited[party] = max(waited, 0.0) / elapsed


# -- the recorder, direct or over HTTP ---------------------------------------------------


@dataclass
class Sustained:
    steps_per_s: float
    records_per_batch: float
    conditions: Conditions


def sustained(
    recorder: Callable[[RecorderSettings], Recorder],
    database_url: str,
    org: str,
    runs: int,
    seconds: float,
    backlog: int,
    meter: CpuMeter,
) -> Sustained:
    with tempfile.TemporaryDirectory() as spool_dir:
        settings = RecorderSettings(org=org, spool_dir=Path(spool_dir), max_queue=backlog * 4)
        return _sustained(recorder(settings), database_url, org, runs, seconds, backlog, meter)


def _sustained(
    rec: Recorder,
    database_url: str,
    org: str,
    runs: int,
    seconds: float,
    backlog: int,
    meter: CpuMeter,
) -> Sustained:
    stop = threading.Event()
    recorded = [0] * runs

    def produce(index: int) -> None:
        with rec.run("bench") as run:
            while not stop.is_set():
                for _ in range(100):
                    with run.step("lookup", input=INPUT) as step:
                        step.output = OUTPUT
                recorded[index] += 100
                while len(rec._queue) > backlog and not stop.is_set():
                    time.sleep(0.001)  # backpressure: measure the writer, not the queue

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(runs)]
    for thread in threads:
        thread.start()
    time.sleep(min(3.0, seconds / 5))  # warm up: connection, caches, first batches
    conditions = Conditions()
    with meter.window(conditions):
        before, started = rec.stats(), time.perf_counter()
        time.sleep(seconds)
        after, elapsed = rec.stats(), time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    if not rec.close(120):
        raise SystemExit(f"not everything was committed: {rec.stats()}")
    stored = asyncio.run(_count_steps(database_url, org))
    if stored != sum(recorded):
        raise SystemExit(f"recorded {sum(recorded)} steps, stored {stored}")
    records = after.written_records - before.written_records
    batches = max(after.written_batches - before.written_batches, 1)
    # Two records per step (start and end); runs opening/closing are noise at this scale.
    return Sustained(records / 2 / elapsed, records / batches, conditions)


async def _count_steps(url: str, org: str) -> int:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM steps JOIN organizations o ON o.id = steps.org_id "
            "WHERE o.slug = $1",
            org,
        )
        return count
    finally:
        await conn.close()


def drained(url: str, org: str, steps: int, meter: "CpuMeter") -> Sustained:
    """The direct sink's own rate: steps queued up front (the writer starts on them at
    once), then timed from the last one recorded until all are committed, so the agent's
    recording does not share the CPU with the writer while it is measured (the sustained
    cases above include that)."""
    with tempfile.TemporaryDirectory() as spool_dir:
        settings = RecorderSettings(
            org=org, spool_dir=Path(spool_dir), max_queue=steps * 4, spool_after=600
        )
        rec = Recorder(url, settings=settings)
        run = rec.run("bench")
        for _ in range(steps):
            with run.step("lookup", input=INPUT) as step:
                step.output = OUTPUT
        conditions = Conditions()
        with meter.window(conditions):
            before, started = rec.stats(), time.perf_counter()
            if not rec.flush(300):
                raise SystemExit(f"not everything was committed: {rec.stats()}")
            after, elapsed = rec.stats(), time.perf_counter() - started
        run.finish()
        rec.close(60)
    records = after.written_records - before.written_records
    batches = max(after.written_batches - before.written_batches, 1)
    return Sustained(records / 2 / elapsed, records / batches, conditions)


def naive_steps_per_s(url: str) -> float:
    """Seed 000's writer, timed per step (two events, a transaction each), back to back."""
    samples = asyncio.run(bench_naive(url, 1000))
    return 1e9 / statistics.mean(samples)


# -- the ceiling: raw binary COPY of the direct sink's rows ------------------------------


@dataclass
class Copied:
    steps_per_s: float
    rows_per_s: float
    batches: int
    conditions: Conditions


def copy_baseline(
    url: str, runs: int, steps: int, records_per_batch: float, meter: CpuMeter
) -> Copied:
    """The rows the direct sink writes for `steps` steps of the benchmark's shape in `runs`
    runs (the records the recorder makes, through the sink's own `plan` and row builders),
    in batches of the size the direct sink wrote, then COPY'd into `steps` and `run_events`
    on one connection, one transaction per batch. Only the transactions are timed: no seq
    allocation, no run counters, no batch ids, no NOTIFY, no Python work per row but
    asyncpg's encoding."""
    org = f"bench-copy-{runs}"
    with tempfile.TemporaryDirectory() as spool_dir:
        opener = Recorder(url, settings=RecorderSettings(org=org, spool_dir=Path(spool_dir)))
        run_ids = [opener.run("bench").id for _ in range(runs)]
        if not opener.close(30):
            raise SystemExit("copy baseline: runs not committed")
    memory = MemorySink()
    rec = Recorder(sink=memory, settings=RecorderSettings(org=org, spool=False))
    handles = [rec.attach(run_id) for run_id in run_ids]
    for n in range(steps):
        with handles[n % runs].step("lookup", input=INPUT) as step:
            step.output = OUTPUT
    rec.close(30)
    records: list[WireRecord] = [r for r in memory.records if r.kind in (STEP_STARTED, STEP_ENDED)]
    size = max(2, round(records_per_batch / 2) * 2)  # a step's start and end stay together
    chunks = [records[i : i + size] for i in range(0, len(records), size)]
    return asyncio.run(_copy(url, chunks, meter))


async def _copy(url: str, chunks: list[list[WireRecord]], meter: CpuMeter) -> Copied:
    conn = await connect(driver_dsn(url))
    try:
        rows = await conn.fetch("SELECT id, org_id, last_step_seq, last_event_seq FROM runs")
        org_of = {row["id"].hex: row["org_id"] for row in rows}
        step_seq = {row["id"].hex: row["last_step_seq"] for row in rows}
        event_seq = {row["id"].hex: row["last_event_seq"] for row in rows}
        batches: list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = []
        for chunk in chunks:
            step_rows: list[tuple[Any, ...]] = []
            event_rows: list[tuple[Any, ...]] = []
            for run_id, delta in plan(chunk).items():
                org_id = org_of[run_id]
                step_rows += delta.step_rows(org_id, step_seq[run_id] + 1)
                event_rows += delta.event_rows(run_id, org_id, event_seq[run_id] + 1)
                step_seq[run_id] += len(delta.new_steps)
                event_seq[run_id] += len(delta.events)
            batches.append((step_rows, event_rows))
        conditions = Conditions()
        with meter.window(conditions):
            started = time.perf_counter()
            for step_rows, event_rows in batches:
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        "steps", records=step_rows, columns=STEP_COLUMNS
                    )
                    await conn.copy_records_to_table(
                        "run_events", records=event_rows, columns=EVENT_COLUMNS
                    )
            elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    steps = sum(len(s) for s, _ in batches)
    rows_copied = steps + sum(len(e) for _, e in batches)
    return Copied(steps / elapsed, rows_copied / elapsed, len(batches), conditions)


# -- one server process: HTTP recorder and OTLP ------------------------------------------


@dataclass
class Otlp:
    spans_per_s: float
    answered_s: float
    queryable_s: float
    spans: int
    conditions: Conditions


async def _new_key(url: str, slug: str) -> str:
    engine = create_engine(url, pool_size=1)
    try:
        async with session_factory(engine).begin() as session:
            key = await create_api_key(session, slug, name="bench")
    finally:
        await engine.dispose()
    return key.secret


async def _org_id(url: str, slug: str) -> uuid.UUID:
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        org_id: uuid.UUID = await conn.fetchval(
            "SELECT id FROM organizations WHERE slug = $1", slug
        )
        return org_id
    finally:
        await conn.close()


async def otlp_case(
    server: ServerProcess, url: str, traces: int, senders: int, meter: CpuMeter
) -> Otlp:
    slug = f"bench-otlp-{uuid.uuid4().hex[:6]}"
    secret = await _new_key(url, slug)
    org_id = await _org_id(url, slug)
    pending = _otlp_load.bodies(traces, SPANS_PER_TRACE, SPANS_PER_BODY)
    expected = traces * SPANS_PER_TRACE
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": _otlp_load.CONTENT_TYPE}
    clients = [
        httpx.AsyncClient(base_url=server.http_url, headers=headers, timeout=60)
        for _ in range(senders)
    ]
    counter = await asyncpg.connect(driver_dsn(url))
    conditions = Conditions()
    try:
        for client in clients:  # connected before the clock starts: keep-alive from here
            (await client.get("/healthz")).raise_for_status()

        async def send(client: httpx.AsyncClient) -> None:
            while pending:
                body = pending.pop()
                response = await client.post("/v1/traces", content=body)
                if response.status_code in (429, 503):  # what an OTLP exporter does
                    pending.append(body)
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                    continue
                if response.status_code != 200:
                    raise SystemExit(f"OTLP: {response.status_code} {response.text[:200]}")

        with meter.window(conditions):
            started = time.perf_counter()
            await asyncio.gather(*(send(client) for client in clients))
            answered = time.perf_counter() - started
            while True:
                stored: int = await counter.fetchval(
                    "SELECT count(*) FROM steps WHERE org_id = $1", org_id
                )
                if stored >= expected:
                    break
                if time.perf_counter() - started > answered + 60:
                    raise SystemExit(f"OTLP: {stored} of {expected} spans stored after 60 s")
                await asyncio.sleep(0.005)
            queryable = time.perf_counter() - started
    finally:
        await counter.close()
        for client in clients:
            await client.aclose()
    if stored != expected:
        raise SystemExit(f"OTLP: sent {expected} spans, stored {stored}")
    return Otlp(expected / queryable, answered, queryable, expected, conditions)


@dataclass
class Served:
    http: dict[int, Sustained]
    otlp: Otlp


async def served_cases(args: argparse.Namespace, url: str, database: str) -> Served:
    workdir = Path(tempfile.mkdtemp(prefix="ingest-throughput-"))
    server = ServerProcess(url, workdir, "--embedded-port", "off")
    await server.start()
    try:
        assert server.process is not None
        meter = CpuMeter(database, server.process.pid)
        http: dict[int, Sustained] = {}
        for runs in args.runs:
            slug = f"bench-http-{runs}-{uuid.uuid4().hex[:6]}"
            secret = await _new_key(url, slug)

            def recorder(settings: RecorderSettings, secret: str = secret) -> Recorder:
                return Recorder(server.http_url, api_key=secret, settings=settings)

            http[runs] = await asyncio.to_thread(
                sustained, recorder, url, slug, runs, args.seconds, args.backlog, meter
            )
            _print_steps(f"HTTP, {runs:>2} concurrent runs", http[runs], HTTP_TARGET)
        otlp = await otlp_case(server, url, args.otlp_traces, args.senders, meter)
        print(
            f"OTLP/HTTP, {args.senders} senders: {otlp.spans_per_s:10,.0f} spans/s queryable "
            f"(target >= {OTLP_TARGET:,}; {otlp.spans:,} spans, last answer at "
            f"{otlp.answered_s:.2f} s, all counted at {otlp.queryable_s:.2f} s; "
            f"{otlp.conditions.describe()})"
        )
    finally:
        code = await server.stop()
        if code != 0:
            print(server.output()[-4000:], file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    return Served(http, otlp)


def _print_steps(label: str, case: Sustained, target: float | None = None) -> None:
    goal = f"target >= {target:,.0f}; " if target else ""
    print(
        f"{label}: {case.steps_per_s:10,.0f} steps/s committed ({goal}"
        f"{case.records_per_batch:,.0f} records/batch; {case.conditions.describe()})"
    )


def _runs(value: str) -> list[int]:
    return [int(n) for n in value.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per case")
    parser.add_argument("--backlog", type=int, default=50_000, help="records queued at most")
    parser.add_argument(
        "--runs", type=_runs, default=[1, 4, 16], help="concurrent runs per case (1,4,16)"
    )
    parser.add_argument("--copy-steps", type=int, default=100_000, help="steps COPY'd (baseline)")
    parser.add_argument("--otlp-traces", type=int, default=2000, help="traces of 10 spans")
    parser.add_argument("--senders", type=int, default=4, help="concurrent OTLP senders")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    direct: dict[int, Sustained] = {}
    with scratch_database("tracewire_bench_ingest") as (_, url):
        database = make_url(url).database or ""
        meter = CpuMeter(database)
        for runs in args.runs:

            def recorder(settings: RecorderSettings) -> Recorder:
                return Recorder(url, settings=settings)

            org = f"bench-{runs}"
            direct[runs] = sustained(recorder, url, org, runs, args.seconds, args.backlog, meter)
            _print_steps(f"direct, {runs:>2} concurrent runs", direct[runs])
        best_runs = max(direct, key=lambda runs: direct[runs].steps_per_s)
        best = direct[best_runs]
        copied = copy_baseline(url, best_runs, args.copy_steps, best.records_per_batch, meter)
        print(
            f"raw binary COPY, {best_runs} runs: {copied.steps_per_s:10,.0f} steps/s "
            f"({copied.rows_per_s:,.0f} rows/s of steps and run_events, {copied.batches} "
            f"transactions of the direct best's batch size; {copied.conditions.describe()})"
        )
        drain = drained(url, "bench-drain", args.copy_steps * 2, meter)
        _print_steps("direct, draining a backlog", drain)
        direct_vs_copy = drain.steps_per_s / copied.steps_per_s
        print(
            f"direct / COPY: {direct_vs_copy:.2f} draining (target >= {COPY_TARGET}); "
            f"{best.steps_per_s / copied.steps_per_s:.2f} sustained, best at {best_runs} runs, "
            "where the recording threads share the CPU with the writer"
        )
        naive = naive_steps_per_s(url)
        print(f"seed-000 style writer: {naive:10,.0f} steps/s")
        served = asyncio.run(served_cases(args, url, database))
    http_best = max(case.steps_per_s for case in served.http.values())
    print(
        f"HTTP best / direct best: {http_best / best.steps_per_s:.2f}; "
        f"HTTP best {http_best:,.0f} steps/s (target >= {HTTP_TARGET:,})"
    )
    print(
        json.dumps(
            {
                "steps_per_s": round(best.steps_per_s),
                "naive_steps_per_s": round(naive, 1),
                "naive_ratio": round(best.steps_per_s / naive, 1),
                **{f"runs_{runs}": round(case.steps_per_s) for runs, case in direct.items()},
                "copy_steps_per_s": round(copied.steps_per_s),
                "copy_rows_per_s": round(copied.rows_per_s),
                "drain_steps_per_s": round(drain.steps_per_s),
                "direct_vs_copy": round(direct_vs_copy, 2),
                "sustained_vs_copy": round(best.steps_per_s / copied.steps_per_s, 2),
                "http_steps_per_s": round(http_best),
                "http_vs_direct": round(http_best / best.steps_per_s, 2),
                **{
                    f"http_runs_{runs}": round(case.steps_per_s)
                    for runs, case in served.http.items()
                },
                "otlp_spans_per_s": round(served.otlp.spans_per_s),
                "otlp_answered_s": round(served.otlp.answered_s, 3),
                "otlp_queryable_s": round(served.otlp.queryable_s, 3),
                "targets": {
                    "http_steps_per_s": HTTP_TARGET,
                    "otlp_spans_per_s": OTLP_TARGET,
                    "direct_vs_copy": COPY_TARGET,
                },
                "conditions": {
                    "cpus": os.cpu_count(),
                    **{f"runs_{r}": c.conditions.as_dict() for r, c in direct.items()},
                    "copy": copied.conditions.as_dict(),
                    "drain": drain.conditions.as_dict(),
                    **{f"http_runs_{r}": c.conditions.as_dict() for r, c in served.http.items()},
                    "otlp": served.otlp.conditions.as_dict(),
                },
                "records_per_batch": {
                    **{f"runs_{r}": round(c.records_per_batch) for r, c in direct.items()},
                    **{
                        f"http_runs_{r}": round(c.records_per_batch) for r, c in served.http.items()
                    },
                },
                "seconds": args.seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
