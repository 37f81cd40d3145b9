"""Schemathesis, in its GraphQL mode, fuzzes every query and mutation of a real server on a
loopback port (with a valid key, over a database holding some runs): no answer may be a
5xx, and no error may be the masked "Unexpected error." that hides a server bug."""

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._rows import insert, run_row, step_row
from tests._server import ServerProcess
from tracewire.api.keys import IssuedKey
from tracewire.db.enums import StepStatus, StepType

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 25
TIME_BUDGET_SECONDS = 60.0
MASKED = "Unexpected error."


@pytest.fixture(scope="module")
async def target(
    database_url: str, engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, IssuedKey]]:
    key = await new_org_key(engine)
    run = run_row(key.org_id, status="running")
    await insert(
        engine,
        run,
        step_row(run, 1, "plan"),
        step_row(run, 2, "gpt", type=StepType.LLM_CALL.value, status=StepStatus.FAILED.value),
    )
    server = ServerProcess(database_url, Path(tmp_path_factory.mktemp("fuzz")))
    await server.start()
    try:
        yield server.http_url, key
    finally:
        await server.stop()


def test_fuzzed_queries_and_mutations_never_fail_on_the_server(
    target: tuple[str, IssuedKey],
) -> None:
    base_url, key = target
    headers = {"Authorization": f"Bearer {key.secret}"}
    schema = schemathesis.graphql.from_url(f"{base_url}/graphql", headers=headers)
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    failures: list[str] = []
    tried: list[str] = []

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        if time.monotonic() > deadline:
            break
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            response = case.call(headers=headers)
            body = response.json() if response.content else {}
            masked = [e for e in body.get("errors") or [] if e.get("message") == MASKED]
            if response.status_code >= 500 or masked:
                failures.append(f"{response.status_code} {case.body}: {response.text[:300]}")

        fuzz()

    assert len(tried) >= 14, tried  # every root query and mutation field
    assert failures == []
