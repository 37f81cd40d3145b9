"""Steps committed per second, sustained, through the recorder into Postgres, from 1, 4 and
16 concurrent runs (one recording thread per run, one recorder), beside seed 000's writer
(per event a transaction with SELECT max(seq) + INSERT) in the same run.

Producers record as fast as the recorder's queue lets them: a producer pauses while more
than `--backlog` records wait, so the figure is what the writer commits, not what the
queue absorbs. Committed steps are counted from the recorder's stats over the window and
checked against the database at the end. The last line is JSON.

    .venv/bin/python tests/benchmarks/ingest_throughput.py [--seconds 30]
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` when run as a script

import asyncpg

from tests.benchmarks._scratch import scratch_database
from tests.benchmarks.recorder_overhead import INPUT, OUTPUT, bench_naive
from tracewire.db.engine import driver_dsn
from tracewire.recorder import Recorder, RecorderSettings


def sustained(url: str, runs: int, seconds: float, backlog: int, spool_dir: Path) -> float:
    settings = RecorderSettings(org=f"bench-{runs}", spool_dir=spool_dir, max_queue=backlog * 4)
    rec = Recorder(url, settings=settings)
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
    before, started = rec.stats().written_records, time.perf_counter()
    time.sleep(seconds)
    after, elapsed = rec.stats().written_records, time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    if not rec.close(120):
        raise SystemExit("not everything was committed")
    stored = asyncio.run(_count_steps(url, settings.org))
    if stored != sum(recorded):
        raise SystemExit(f"recorded {sum(recorded)} steps, stored {stored}")
    # Two records per step (start and end); runs opening/closing are noise at this scale.
    return (after - before) / 2 / elapsed


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


def naive_steps_per_s(url: str) -> float:
    """Seed 000's writer, timed per step (two events, a transaction each), back to back."""
    samples = asyncio.run(bench_naive(url, 1000))
    return 1e9 / statistics.mean(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per case")
    parser.add_argument("--backlog", type=int, default=50_000, help="records queued at most")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with scratch_database("tracewire_bench_ingest") as (_, url):
        for runs in (1, 4, 16):
            with tempfile.TemporaryDirectory() as spool_dir:
                rate = sustained(url, runs, args.seconds, args.backlog, Path(spool_dir))
            results[f"runs_{runs}"] = round(rate)
            print(f"{runs:>3} concurrent runs: {rate:10,.0f} steps/s committed")
        naive = naive_steps_per_s(url)
        print(f"seed-000 style writer: {naive:10,.0f} steps/s")
    best = max(results.values())
    print(
        json.dumps(
            {
                "steps_per_s": best,
                "naive_steps_per_s": round(naive, 1),
                "naive_ratio": round(best / naive, 1),
                **results,
                "seconds": args.seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
