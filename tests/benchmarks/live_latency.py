"""How fast a recorded step reaches live subscribers, against a baseline that polls.

A recorder emits steps at a steady rate into a real `tracewire serve` process while N
websocket subscribers watch the run (`runEvents`); each step's latency is receipt time
minus the step's recorded start. One more client polls the run's steps every 2 s, as
peers' UIs do. Prints p50/p95/p99, events lost or duplicated; last line a JSON object.

    .venv/bin/python tests/benchmarks/live_latency.py [--rate 1000] [--subscribers 100]
"""

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` when run as a script

import httpx

from api.keys import create_api_key
from db.engine import create_engine, session_factory
from recorder import Recorder, RecorderSettings
from tests._server import ServerProcess
from tests._ws import graphql_socket
from tests.benchmarks._scratch import scratch_database

BATCHES = """
subscription ($runId: ID!) {
  runEventBatches(runId: $runId) { events { seq kind step { startedAt } } }
}
"""
SINGLE_EVENTS = """
subscription ($runId: ID!) {
  runEvents(runId: $runId) { seq kind step { startedAt } }
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
    (a receive timing out after 30 s) counts as lost."""
    tally = _Tally()
    try:
        async with graphql_socket(url, secret) as socket:
            await socket.subscribe(BATCHES if batches else SINGLE_EVENTS, {"runId": run_id})
            while tally.received < expected_events:
                message = await socket.receive(wait_s=30)
                now = time.time()
                data = message["payload"]["data"]
                events = data["runEventBatches"]["events"] if batches else [data["runEvents"]]
                for event in events:
                    tally.received += 1
                    if event["seq"] != tally.last + 1:
                        tally.seq_errors += 1
                    tally.last = event["seq"]
                    if event["kind"] == "STEP_FINISHED":
                        latencies.append((now - _epoch(event["step"]["startedAt"])) * 1000)
                if tally.received == 1:
                    ready.put_nowait(None)  # the stored run_created event: we are live
    except* (TimeoutError, OSError):
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


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _emit(recorder: Recorder, run_id: uuid.UUID, rate: int, seconds: float) -> None:
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
    recorder.flush(30)


async def _main(args: argparse.Namespace, url: str) -> dict[str, Any]:
    engine = create_engine(url, pool_size=2)
    org = f"bench-{uuid.uuid4().hex[:6]}"
    async with session_factory(engine).begin() as session:
        key = await create_api_key(session, org)
    await engine.dispose()
    workdir = Path(tempfile.mkdtemp(prefix="live-latency-"))
    server = ServerProcess(url, workdir)
    await server.start()
    recorder = Recorder(url, settings=RecorderSettings(org=org, flush_interval=0.005))
    try:
        run = recorder.run("bench")
        assert recorder.flush(10)
        steps = int(args.rate * args.seconds)
        expected = 1 + steps  # run created + one step_finished per (instant) step
        live: list[float] = []
        polled: list[float] = []
        ready: asyncio.Queue[None] = asyncio.Queue()
        subscribers = [
            asyncio.create_task(
                _subscriber(
                    server.ws_url,
                    key.secret,
                    str(run.id),
                    expected,
                    live,
                    not args.per_event,
                    ready,
                )
            )
            for _ in range(args.subscribers)
        ]
        poller = asyncio.create_task(
            _poller(server.http_url, key.secret, str(run.id), steps, polled)
        )
        for _ in subscribers:  # everyone is live before the first step
            await asyncio.wait_for(ready.get(), timeout=120)
        emitter = threading.Thread(target=_emit, args=(recorder, run.id, args.rate, args.seconds))
        emitter.start()
        results = await asyncio.gather(*subscribers)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(poller, timeout=60)
        emitter.join()
    finally:
        recorder.close()
        await server.stop()
    lost = sum(expected - tally.received for tally in results)
    seq_errors = sum(tally.seq_errors for tally in results)
    return {
        "rate_steps_per_s": args.rate,
        "subscribers": args.subscribers,
        "subscription": "runEvents" if args.per_event else "runEventBatches",
        "p50_ms": round(statistics.median(live), 2) if live else None,
        "p95_ms": round(_percentile(live, 0.95), 2),
        "p99_ms": round(_percentile(live, 0.99), 2),
        "lost": lost,
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
    args = parser.parse_args()
    with scratch_database("live_latency") as (_server_url, url):
        figures = asyncio.run(_main(args, url))
    for name, value in figures.items():
        print(f"{name:>18}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
