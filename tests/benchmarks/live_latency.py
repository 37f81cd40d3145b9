"""How fast a recorded step reaches live subscribers, against a baseline that polls.

A recorder emits steps at a steady rate (straight into the database, or with `--http` over
HTTP into the server the subscribers watch) while N websocket subscribers of a real
`tracewire serve` process watch the run (`runEvents`); each step's latency is receipt time
minus the step's recorded start. One more client polls the run's steps every 2 s, as
peers' UIs do. Prints p50/p95/p99, events lost or duplicated; last line a JSON object.

    .venv/bin/python tests/benchmarks/live_latency.py [--rate 1000] [--subscribers 100] [--http]
"""

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` when run as a script

import httpx
import orjson
import psutil
import websockets
from websockets import Subprotocol

from tests._server import ServerProcess
from tests.benchmarks._scratch import scratch_database
from tracewire.api.keys import create_api_key
from tracewire.db.engine import create_engine, session_factory
from tracewire.recorder import Recorder, RecorderSettings

BATCHES = """
subscription ($runId: ID!) {
  runEventBatches(runId: $runId) { events { seq kind createdAt step { startedAt } } }
}
"""
SINGLE_EVENTS = """
subscription ($runId: ID!) {
  runEvents(runId: $runId) { seq kind createdAt step { startedAt } }
}
"""
POLL = """
query ($runId: ID!, $after: String) {
  run(id: $runId) { steps(first: 1000, after: $after) {
    pageInfo { endCursor hasNextPage } edges { node { startedAt } } } }
}
"""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class _Tally:
    received: int = 0
    seq_errors: int = 0
    last: int = 0
    # From a step's start to its transaction in the database: the writer's share.
    write_ms: list[float] = field(default_factory=list)


async def _subscriber(
    url: str,
    secret: str,
    run_id: str,
    expected_events: int,
    latencies: list[float],
    batches: bool,
    ready: asyncio.Queue[None],
) -> _Tally:
    """Counts events received and seq errors (duplicates or gaps); what never arrives
    (a receive timing out after 30 s) counts as lost. The client is `websockets` with
    orjson: a hundred of them share this process, so the measuring side must stay cheap."""
    tally = _Tally()
    query = BATCHES if batches else SINGLE_EVENTS
    try:
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
        ) as socket:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {secret}"}}
            await socket.send(orjson.dumps(init).decode())
            assert orjson.loads(await socket.recv())["type"] == "connection_ack"
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": query}}
            subscribe["payload"]["variables"] = {"runId": run_id}  # type: ignore[index]
            await socket.send(orjson.dumps(subscribe).decode())
            while tally.received < expected_events:
                message = orjson.loads(await asyncio.wait_for(socket.recv(), 30))
                now = time.time()
                if message["type"] == "ping":
                    await socket.send('{"type":"pong"}')
                    continue
                data = message["payload"]["data"]
                events = data["runEventBatches"]["events"] if batches else [data["runEvents"]]
                for event in events:
                    tally.received += 1
                    if event["seq"] != tally.last + 1:
                        tally.seq_errors += 1
                    tally.last = event["seq"]
                    if event["kind"] == "STEP_FINISHED":
                        started = _epoch(event["step"]["startedAt"])
                        latencies.append((now - started) * 1000)
                        tally.write_ms.append((_epoch(event["createdAt"]) - started) * 1000)
                if tally.received == 1:
                    ready.put_nowait(None)  # the stored run_created event: we are live
    except* (TimeoutError, OSError, websockets.ConnectionClosed):
        pass
    return tally


async def _poller(base: str, secret: str, run_id: str, steps: int, latencies: list[float]) -> None:
    after: str | None = None
    seen = 0
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {secret}"}) as client:
        while seen < steps:
            await asyncio.sleep(2.0)
            while True:
                try:
                    response = await client.post(
                        f"{base}/graphql",
                        json={"query": POLL, "variables": {"runId": run_id, "after": after}},
                        timeout=30,
                    )
                except httpx.HTTPError:
                    break  # an overloaded server; try again at the next poll
                page = response.json()["data"]["run"]["steps"]
                now = time.time()
                for edge in page["edges"]:
                    latencies.append((now - _epoch(edge["node"]["startedAt"])) * 1000)
                seen += len(page["edges"])
                after = page["pageInfo"]["endCursor"] or after
                if not page["pageInfo"]["hasNextPage"]:
                    break


@functools.lru_cache(maxsize=65536)
def _epoch(iso: str) -> float:
    # Every subscriber gets the same timestamps: parse each once, keep the client cheap.
    return datetime.fromisoformat(iso).timestamp()


def _recorder(url: str, org: str, api_key: str | None, **settings: Any) -> Recorder:
    """Into the database (`url` a database URL), or with `api_key` into the server at
    `url` (`--http`), where the key's organization is `org`."""
    return Recorder(url, api_key=api_key, settings=RecorderSettings(org=org, **settings))


def _emit(
    url: str, org: str, api_key: str | None, run_id: uuid.UUID, rate: int, seconds: float
) -> None:
    """In a process of its own, as an agent would be: the subscribers' event loop must not
    share a GIL with the recorder it measures."""
    recorder = _recorder(url, org, api_key, flush_interval=0.005)
    run = recorder.attach(run_id)
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    started = time.perf_counter()
    for n in range(int(seconds / tick)):
        for _ in range(per_tick):
            run.info("tick")
        delay = started + (n + 1) * tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    recorder.close(30)


def _start_emitter(
    url: str, org: str, api_key: str | None, run_id: uuid.UUID, args: argparse.Namespace
) -> Any:
    emitter = multiprocessing.get_context("spawn").Process(
        target=_emit, args=(url, org, api_key, run_id, args.rate, args.seconds)
    )
    emitter.start()
    return emitter


async def _watch_live(
    args: argparse.Namespace, url: str, server: ServerProcess, org: str, secret: str
) -> tuple[list[float], list[_Tally], int, tuple[float, float]]:
    """Phase 1: the subscribers watch one run while the emitter records into it."""
    url, api_key = _destination(args, url, server, secret)
    recorder = _recorder(url, org, api_key)
    run = recorder.run("bench-live")
    assert recorder.flush(10)
    recorder.close()
    expected = 1 + int(args.rate * args.seconds)  # run created + a step_finished per step
    live: list[float] = []
    ready: asyncio.Queue[None] = asyncio.Queue()
    subscribers = [
        asyncio.create_task(
            _subscriber(
                server.ws_url, secret, str(run.id), expected, live, not args.per_event, ready
            )
        )
        for _ in range(args.subscribers)
    ]
    for _ in subscribers:  # everyone is live before the first step
        await asyncio.wait_for(ready.get(), timeout=120)
    # The measuring side must not pause either: its full collections of what it imported
    # took 120-160 ms every second, and showed up as the server's latency.
    gc.collect()
    gc.freeze()
    assert server.process is not None
    server_process = psutil.Process(server.process.pid)
    cpu_before = _cpu(server_process), _cpu(psutil.Process())
    emitter = _start_emitter(url, org, api_key, run.id, args)
    results = await asyncio.gather(*subscribers)
    cpu_used = _cpu(server_process) - cpu_before[0], _cpu(psutil.Process()) - cpu_before[1]
    await asyncio.to_thread(emitter.join)
    return live, results, expected, cpu_used


def _destination(
    args: argparse.Namespace, url: str, server: ServerProcess, secret: str
) -> tuple[str, str | None]:
    """Where the recorders write: the database, or (`--http`) the server being watched."""
    return (server.http_url, secret) if args.http else (url, None)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _poll(
    args: argparse.Namespace, url: str, server: ServerProcess, org: str, secret: str
) -> list[float]:
    """Phase 2, the baseline: the same load, watched by polling every 2 s. Run on its own:
    a poll of a thousand steps occupies the server, and would slow the live phase down."""
    url, api_key = _destination(args, url, server, secret)
    recorder = _recorder(url, org, api_key)
    run = recorder.run("bench-poll")
    assert recorder.flush(10)
    recorder.close()
    polled: list[float] = []
    steps = int(args.rate * args.seconds)
    poller = asyncio.create_task(_poller(server.http_url, secret, str(run.id), steps, polled))
    emitter = _start_emitter(url, org, api_key, run.id, args)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poller, timeout=args.seconds + 60)
    await asyncio.to_thread(emitter.join)
    return polled


async def _main(args: argparse.Namespace, url: str) -> dict[str, Any]:
    engine = create_engine(url, pool_size=2)
    org = f"bench-{uuid.uuid4().hex[:6]}"
    async with session_factory(engine).begin() as session:
        key = await create_api_key(session, org)
    await engine.dispose()
    server = ServerProcess(url, Path(tempfile.mkdtemp(prefix="live-latency-")))
    await server.start()
    try:
        live, results, expected, (server_cpu, client_cpu) = await _watch_live(
            args, url, server, org, key.secret
        )
        polled = await _poll(args, url, server, org, key.secret)
    finally:
        await server.stop()
    lost = sum(expected - tally.received for tally in results)
    seq_errors = sum(tally.seq_errors for tally in results)
    return {
        "rate_steps_per_s": args.rate,
        "subscribers": args.subscribers,
        "subscription": "runEvents" if args.per_event else "runEventBatches",
        "recorder": "http" if args.http else "direct",
        "p50_ms": round(statistics.median(live), 2) if live else None,
        "p95_ms": round(_percentile(live, 0.95), 2),
        "p99_ms": round(_percentile(live, 0.99), 2),
        "write_p50_ms": round(statistics.median(results[0].write_ms), 2),
        "write_p99_ms": round(_percentile(results[0].write_ms, 0.99), 2),
        "lost": lost,
        # The server's CPU per subscriber per event: machine load moves latency, not this.
        "server_cpu_s": round(server_cpu, 2),
        "subscribers_cpu_s": round(client_cpu, 2),
        "server_cpu_us_per_delivery": round(server_cpu * 1e6 / (expected * args.subscribers), 1),
        "seq_errors": seq_errors,
        "poll_p50_ms": round(statistics.median(polled), 2) if polled else None,
        "poll_p99_ms": round(_percentile(polled, 0.99), 2),
        "poll_ratio": round(_percentile(polled, 0.99) / _percentile(live, 0.99), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="steps per second")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--per-event", action="store_true", help="subscribe to runEvents (a message per event)"
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="record over HTTP into the watched server (API key), not into the database",
    )
    args = parser.parse_args()
    with scratch_database("live_latency") as (_server_url, url):
        figures = asyncio.run(_main(args, url))
    for name, value in figures.items():
        print(f"{name:>18}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
