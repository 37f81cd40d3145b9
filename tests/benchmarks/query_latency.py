"""GraphQL read latency over a big organization: 100k runs and 1M steps (seeded with COPY),
the runs page (unfiltered and filtered), a run's steps page, a 1000-step tree, and stats
over 24 hours and 7 days. Each request goes through the whole app in-process (auth,
Strawberry, DataLoaders, SQL), on the scratch database of tests/benchmarks/_scratch.py.

    .venv/bin/python tests/benchmarks/query_latency.py [--runs 100000] [--iterations 40]

The last line is one JSON object: `<case>_p50_ms`, `<case>_p95_ms`, `pages_p95_ms` (the
worst page p95; target < 50 ms) and `stats_p95_ms` (the worst stats p95; target < 300 ms).
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._scratch import scratch_database
from tracewire.api.app import create_app
from tracewire.api.keys import create_api_key
from tracewire.api.settings import ServerSettings
from tracewire.db.engine import create_engine, driver_dsn, session_factory

NODES = ["guardrail", "classify", "retrieve", "answer", "review"]
AGENTS = ["support-bot", "billing-bot", "triage-bot"]
STATUSES = ["completed"] * 80 + ["failed"] * 10 + ["partial"] * 5 + ["running"] * 5
STEP_COLUMNS = (
    "id", "org_id", "run_id", "seq", "parent_id", "name", "type", "status", "started_at",
    "ended_at", "latency_ms", "model", "vendor", "input_tokens", "output_tokens", "cost",
    "error_code", "error_message", "payload", "input", "output",
)  # fmt: skip
RUN_COLUMNS = (
    "id", "org_id", "agent", "status", "user_id", "conversation_id", "tags", "created_at",
    "started_at", "finished_at", "updated_at", "error_code", "error_message", "last_step_seq",
    "step_count", "error_count", "input_tokens", "output_tokens", "cost", "input", "output",
)  # fmt: skip

RUNS_PAGE = """query ($filter: RunFilter) { runs(first: 50, filter: $filter) { totalCount
    nodes { id agent status createdAt durationMs stepCount errorCount cost failedNodes
            errorSummary } pageInfo { hasNextPage endCursor } } }"""
STEPS_PAGE = """query ($id: ID!, $after: String) { run(id: $id) {
    steps(first: 100, after: $after) {
    nodes { id seq name type status latencyMs truncated input output }
    pageInfo { endCursor } } } }"""
TREE = """query ($id: ID!) { run(id: $id) { tree(first: 1000) { truncated
    nodes { depth childCount step { id name type status latencyMs } } } } }"""
STATS = """query ($filter: StatsFilter) { stats(filter: $filter) { totalRuns successRate
    byStatus { status count } duration { avgMs p50Ms p95Ms p99Ms }
    failedNodes { node runs failures }
    stages { stage count errors latency { p50Ms p95Ms p99Ms } }
    usage { vendor model calls errors rateLimitHits inputTokens outputTokens cost }
    timeSeries { start runs failedRuns errors p95Ms cost } } }"""


def _json(value: Any) -> str:
    return json.dumps(value)


Rows = list[tuple[Any, ...]]


def seed_rows(org_id: uuid.UUID, runs: int, now: datetime) -> tuple[Rows, Rows, uuid.UUID]:
    """Runs spread over the last 7 days, ~10 steps each (a graph node over five nodes, an
    LLM call in three of them), plus one run of 1000 nested steps for the tree."""
    rng = random.Random(7)
    run_rows: Rows = []
    step_rows: Rows = []
    big_run = uuid.uuid4()
    for i in range(runs):
        run_id = big_run if i == 0 else uuid.uuid4()
        created = now - timedelta(seconds=rng.uniform(0, 7 * 86400)) if i else now
        status = rng.choice(STATUSES)
        steps: list[tuple[Any, ...]] = []
        t = created
        root = uuid.uuid4()
        count = 1000 if i == 0 else 10
        parents = [root]
        failed_node = rng.choice(NODES) if status == "failed" else None
        errors = input_tokens = output_tokens = 0
        cost = Decimal(0)
        for seq in range(1, count + 1):
            step_id = root if seq == 1 else uuid.uuid4()
            latency = rng.lognormvariate(4, 1)
            if seq == 1:
                name, kind, parent = "graph", "node", None
            elif seq % 2 == 0:
                name, kind, parent = NODES[(seq // 2) % 5], "node", parents[-1]
                parents.append(step_id)
                if len(parents) > 6:
                    parents.pop(1)
            else:
                name, kind, parent = "gpt-4o-mini", "llm_call", parents[-1]
            is_llm = kind == "llm_call"
            failed = name == failed_node
            in_tok, out_tok = (
                (rng.randint(50, 500), rng.randint(5, 100)) if is_llm else (None, None)
            )
            errors += failed
            input_tokens += in_tok or 0
            output_tokens += out_tok or 0
            cost += Decimal("0.0001") if is_llm else 0
            steps.append((
                step_id, org_id, run_id, seq, parent, name, kind,
                "failed" if failed else "completed", t, t + timedelta(milliseconds=latency),
                latency, "gpt-4o-mini" if is_llm else None, "openai" if is_llm else None,
                in_tok, out_tok, Decimal("0.0001") if is_llm else None,
                ("RateLimitError" if rng.random() < 0.3 else "ValueError") if failed else None,
                "it broke" if failed else None, "{}", _json({"q": seq}), _json({"a": seq}),
            ))  # fmt: skip
            t += timedelta(milliseconds=latency)
        step_rows += steps
        finished = t if status != "running" else None
        run_rows.append((
            run_id, org_id, AGENTS[i % 3], status, f"u-{i % 5000}", f"c-{i % 20000}",
            ["prod"] if i % 2 else ["prod", "eu"], created, created, finished, t,
            "NodeError" if status == "failed" else None,
            f"{failed_node} failed" if failed_node else None, count, count, errors,
            input_tokens, output_tokens, cost, _json({"question": i}), _json({"answer": i}),
        ))  # fmt: skip
    return run_rows, step_rows, big_run


async def seed(url: str, runs: int) -> tuple[str, uuid.UUID]:
    engine = create_engine(url, pool_size=1)
    async with session_factory(engine).begin() as session:
        key = await create_api_key(session, "bench")
    await engine.dispose()
    started = time.perf_counter()
    run_rows, step_rows, big_run = seed_rows(key.org_id, runs, datetime.now(UTC))
    conn = await asyncpg.connect(driver_dsn(url))
    try:
        await conn.copy_records_to_table("runs", records=run_rows, columns=RUN_COLUMNS)
        await conn.copy_records_to_table("steps", records=step_rows, columns=STEP_COLUMNS)
        await conn.execute("VACUUM ANALYZE runs")
        await conn.execute("VACUUM ANALYZE steps")
    finally:
        await conn.close()
    print(
        f"seeded {len(run_rows)} runs, {len(step_rows)} steps in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return key.secret, big_run


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def measure(
    client: httpx.AsyncClient, headers: dict[str, str], document: str, variables: dict[str, Any],
    iterations: int,
) -> tuple[float, float]:  # fmt: skip
    samples = []
    for i in range(iterations + 3):
        started = time.perf_counter()
        response = await client.post(
            "/graphql", json={"query": document, "variables": variables}, headers=headers
        )
        elapsed = (time.perf_counter() - started) * 1000
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        if i >= 3:  # warm-up
            samples.append(elapsed)
    return statistics.median(samples), percentile(samples, 0.95)


async def bench(url: str, runs: int, iterations: int) -> dict[str, float]:
    secret, big_run = await seed(url, runs)
    headers = {"Authorization": f"Bearer {secret}"}
    app = create_app(ServerSettings(database_url=url))
    results: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            second_page = (
                await client.post(
                    "/graphql",
                    json={"query": STEPS_PAGE, "variables": {"id": str(big_run)}},
                    headers=headers,
                )
            ).json()["data"]["run"]["steps"]["pageInfo"]["endCursor"]
            cases: dict[str, tuple[str, dict[str, Any]]] = {
                "runs_page": (RUNS_PAGE, {}),
                "runs_filtered": (
                    RUNS_PAGE,
                    {"filter": {"status": ["FAILED"], "agent": ["support-bot"], "lastHours": 24}},
                ),
                "runs_failed_node": (RUNS_PAGE, {"filter": {"failedNode": "retrieve"}}),
                "steps_page": (STEPS_PAGE, {"id": str(big_run), "after": second_page}),
                "tree_1000": (TREE, {"id": str(big_run)}),
                "stats_24h": (STATS, {"filter": {"lastHours": 24}}),
                "stats_7d": (STATS, {"filter": {"lastHours": 24 * 7}}),
            }
            for name, (document, variables) in cases.items():
                count = max(5, iterations // 3) if name.startswith("stats") else iterations
                p50, p95 = await measure(client, headers, document, variables, count)
                results[f"{name}_p50_ms"] = round(p50, 1)
                results[f"{name}_p95_ms"] = round(p95, 1)
                print(f"{name:18} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms", file=sys.stderr)
    pages = ("runs_page", "runs_filtered", "runs_failed_node", "steps_page", "tree_1000")
    results["pages_p95_ms"] = max(results[f"{p}_p95_ms"] for p in pages)
    results["stats_p95_ms"] = max(results["stats_24h_p95_ms"], results["stats_7d_p95_ms"])
    results["runs"] = runs
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args()
    with scratch_database("query_latency") as (_, url):
        results = asyncio.run(bench(url, args.runs, args.iterations))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
