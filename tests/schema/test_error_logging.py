"""What the server log shows of GraphQL errors: a client's mistakes (bad ids, bad filters,
documents over the limits, a query sent over legacy graphql-ws) as one INFO line each, with
no traceback; a fault of the server at ERROR, once, with its traceback."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._private_postgres import PrivatePostgres, migrated_private_postgres
from tests._server import ServerProcess, serving
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import create_engine
from tracewire.resolvers.errors import NotFound
from tracewire.schema._build import _Schema
from tracewire.schema._mask_errors import ONLY_SUBSCRIPTIONS

RUN = "query ($id: ID!) { run(id: $id) { id } }"
# (document, variables, what the client is told): each one a client's mistake.
MISTAKES: list[tuple[str, dict[str, Any], str]] = [
    ("mutation ($id: ID!) { startRun(id: $id) { id } }", {"id": str(uuid.uuid4())}, "no run"),
    ('mutation { cancelRun(id: "nope") { id } }', {}, "no run"),
    ("{ runs(first: 100000) { totalCount } }", {}, "first must be between"),
    ('{ runs(after: "garbage") { totalCount } }', {}, "not a cursor"),
    ("{ runs(filter: {lastHours: -5}) { totalCount } }", {}, "lastHours must be"),
    ("{ runs(filter: {status: [NOPE]}) { totalCount } }", {}, "does not exist in 'RunStatus'"),
    ('{ runByTraceId(traceId: "zz") { id } }', {}, "32 hexadecimal digits"),
    ("{ noSuchField }", {}, "Cannot query field"),
    ("{ " + " ".join(f"a{i}: runs {{ totalCount }}" for i in range(40)) + " }", {}, "aliases"),
    ("{ " + "__typename " * 4000 + "}", {}, "more than 3000 tokens"),
    ("{ " + "a { " * 14 + "id" + " }" * 14 + " }", {}, "exceeds maximum operation depth"),
]


async def post(server: ServerProcess, key: IssuedKey, document: str, **variables: Any) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.http_url}/graphql",
            json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {key.secret}"},
        )
    return response


def log_lines(server: ServerProcess, level: str) -> list[str]:
    return [line for line in server.output().splitlines() if line.startswith(f"{level}:")]


async def query_over_legacy_graphql_ws(server: ServerProcess, key: IssuedKey) -> dict[str, Any]:
    async with (
        httpx.AsyncClient() as client,
        aconnect_ws(
            server.ws_url, client, subprotocols=["graphql-ws"], session_class=AsyncWebSocketSession
        ) as ws,
    ):
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {key.secret}"}}
        )
        assert (await ws.receive_json(timeout=20))["type"] == "connection_ack"
        await ws.send_json(
            {"type": "start", "id": "1", "payload": {"query": "{ runs { totalCount } }"}}
        )
        answer: dict[str, Any] = await ws.receive_json(timeout=20)
    return answer


async def test_a_probe_of_client_mistakes_leaves_info_lines_and_no_error_or_traceback(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    key = await new_org_key(engine)
    refusals = 1  # the legacy graphql-ws query
    async with serving(database_url, tmp_path) as server:
        for document, variables, told in MISTAKES:
            response = await post(server, key, document, **variables)
            assert response.status_code == 200, response.text
            messages = [e["message"] for e in response.json()["errors"]]
            assert any(told in m for m in messages), (document[:80], messages)
            refusals += len(messages)
        # Ids that name nothing are no error at all: the answer is null.
        for bad_id in (str(uuid.uuid4()), "not-a-uuid", "x" * 5000):
            response = await post(server, key, RUN, id=bad_id)
            assert response.json() == {"data": {"run": None}}
        legacy = await query_over_legacy_graphql_ws(server, key)

    assert legacy == {"type": "error", "id": "1", "payload": {"message": ONLY_SUBSCRIPTIONS}}
    assert log_lines(server, "ERROR") == []
    assert "Traceback" not in server.output(), server.log_tail()
    refused = [line for line in log_lines(server, "INFO") if "tracewire.graphql" in line]
    assert len(refused) == refusals  # one line per error the clients were told
    assert all(len(line) < 300 for line in refused)


@pytest.fixture
async def private_database() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    async with migrated_private_postgres() as server_and_url:
        yield server_and_url


@pytest.mark.slow
async def test_the_database_stopping_is_logged_at_error_once_and_answered_503(
    private_database: tuple[PrivatePostgres, str], tmp_path: Path
) -> None:
    postgres, url = private_database
    engine = create_engine(url)
    try:
        key = await new_org_key(engine)
    finally:
        await engine.dispose()
    async with serving(url, tmp_path) as server:
        assert (await post(server, key, "{ runs { totalCount } }")).status_code == 200
        await asyncio.to_thread(postgres.stop)
        try:
            answers = [await post(server, key, "{ runs { totalCount } }") for _ in range(5)]
            others = await _other_doors(server, key)
        finally:
            await asyncio.to_thread(postgres.start)
        assert (await post(server, key, "{ runs { totalCount } }")).status_code == 200

    for answer in answers:
        assert answer.status_code == 503
        assert "database is unavailable" in answer.json()["errors"][0]["message"]
    for door, answer in others.items():
        assert answer.status_code == 503, (door, answer.status_code, answer.text)
        assert answer.headers["Retry-After"], door
        assert "database is unavailable" in answer.json()["error"], door
    auth_errors = [line for line in log_lines(server, "ERROR") if "tracewire.auth" in line]
    assert len(auth_errors) == 1, server.log_tail()
    lines = server.output().splitlines()
    assert lines[lines.index(auth_errors[0]) + 1] == "Traceback (most recent call last):"
    assert "Exception in ASGI application" not in server.output()


async def _other_doors(server: ServerProcess, key: IssuedKey) -> dict[str, httpx.Response]:
    """Every other route that checks a key, asked while the database is away: each must
    answer 503 (retry), not 401 (a recorder would drop a good key) nor 500."""
    auth = {"Authorization": f"Bearer {key.secret}"}
    async with httpx.AsyncClient(base_url=server.http_url, headers=auth, timeout=30) as client:
        return {
            "export": await client.get("/export/runs.csv"),
            "ingest": await client.post(
                "/v1/ingest", content=b"{}", headers={"Content-Type": "application/json"}
            ),
            "artifact upload": await client.put("/v1/artifacts/a.txt", content=b"x"),
            "OTLP": await client.post(
                "/v1/traces", content=b"{}", headers={"Content-Type": "application/json"}
            ),
        }


@strawberry.type
class _Query:
    @strawberry.field
    def broken(self) -> str | None:
        raise ConnectionResetError("the database went away")

    @strawberry.field
    def missing(self) -> str | None:
        raise NotFound("run", "0000")


_schema = _Schema(query=_Query)


async def test_a_fault_that_breaks_several_fields_is_one_error_record_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="tracewire.graphql"):
        result = await _schema.execute("{ a: broken b: broken c: missing }")

    assert result.errors is not None and len(result.errors) == 3
    records = [r for r in caplog.records if r.name == "tracewire.graphql"]
    errors = [r for r in records if r.levelno == logging.ERROR]
    infos = [r for r in records if r.levelno == logging.INFO]
    assert len(errors) == 1
    assert errors[0].exc_info is not None and "and 1 more" in errors[0].getMessage()
    assert [r.getMessage() for r in infos] == ["refused: no run with id '0000'"]
    assert infos[0].exc_info is None
