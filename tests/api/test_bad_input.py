"""Bad client input sent to a real server process: each answers 4xx with a message (GraphQL
errors that say what is wrong, never "Unexpected error."), nothing recorded before is lost,
and the server logs no traceback for any of it."""

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key, unique_slug
from tests._server import ServerProcess, serving
from tracewire.api.ingest.wire import MEDIA_TYPE
from tracewire.api.keys import IssuedKey

RUN_QUERY = "query($id: ID!) { run(id: $id) { id agent metadata } }"
RUNS_QUERY = "query($f: RunFilter, $a: String) { runs(first: 5, filter: $f, after: $a) { edges { node { id } } } }"  # noqa: E501


ORG = unique_slug("bad-input")


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(database_url, tmp_path_factory.mktemp("bad-input")) as started:
        yield started
        assert "Traceback" not in started.output(), started.output()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as opened:
        yield opened


@pytest.fixture
async def key(engine: AsyncEngine) -> IssuedKey:
    return await new_org_key(engine, ORG)


async def ingest(client: httpx.AsyncClient, key: IssuedKey, *records: list[Any]) -> httpx.Response:
    batch = {"id": uuid.uuid4().hex, "records": list(records)}
    headers = {**bearer(key), "Content-Type": MEDIA_TYPE}
    return await client.post("/v1/ingest", content=json.dumps(batch), headers=headers)


def run_opened(run_id: str, metadata: str | None) -> list[Any]:
    return [0, run_id, ORG, "agent", None, None, None, metadata, None, time.time()]


async def recorded_run(client: httpx.AsyncClient, key: IssuedKey) -> str:
    """A run stored before the bad input, which must still read back after it."""
    run_id = uuid.uuid4().hex
    response = await ingest(client, key, run_opened(run_id, '{"kept": true}'))
    assert response.status_code == 200, response.text
    return str(uuid.UUID(run_id))


async def graphql(
    client: httpx.AsyncClient, key: IssuedKey, query: str, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def assert_still_readable(client: httpx.AsyncClient, key: IssuedKey, run_id: str) -> None:
    body = await graphql(client, key, RUN_QUERY, id=run_id)
    assert body.get("errors") is None, body
    assert body["data"]["run"]["metadata"] == {"kept": True}
    listed = await graphql(client, key, RUNS_QUERY)
    assert listed.get("errors") is None, listed


def error_messages(body: dict[str, Any]) -> list[str]:
    messages = [error["message"] for error in body.get("errors") or []]
    assert messages, body
    assert "Unexpected error." not in messages, body
    return messages


@pytest.mark.parametrize(
    ("path", "depth"),
    # The login's body cap is 4 KiB: 2,000 levels still overflow the standard JSON parser.
    [("/graphql", 100_000), ("/api/public/ingestion", 100_000), ("/auth/login", 2_000)],
)
async def test_json_nested_thousands_deep_is_refused_with_400(
    client: httpx.AsyncClient, key: IssuedKey, path: str, depth: int
) -> None:
    run_id = await recorded_run(client, key)
    headers = {"Content-Type": "application/json"}
    if path != "/auth/login":  # the login needs no key
        headers.update(bearer(key))

    response = await client.post(path, content=b"[" * depth + b"]" * depth, headers=headers)

    assert response.status_code == 400, response.text
    assert "JSON" in response.text
    await assert_still_readable(client, key, run_id)


@pytest.mark.parametrize("depth", [255, 5000])
async def test_ingested_metadata_nested_too_deep_to_read_back_is_refused(
    client: httpx.AsyncClient, key: IssuedKey, depth: int
) -> None:
    run_id = await recorded_run(client, key)

    response = await ingest(client, key, run_opened(uuid.uuid4().hex, nested(depth)))

    assert response.status_code == 400, response.text
    assert response.json() == {"error": "records[0].metadata nests deeper than 254 levels"}
    await assert_still_readable(client, key, run_id)


async def test_ingested_metadata_as_deep_as_the_recorder_sends_reads_back(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    run_id = uuid.uuid4().hex

    response = await ingest(client, key, run_opened(run_id, nested(254)))

    assert response.status_code == 200, response.text
    body = await graphql(client, key, RUN_QUERY, id=str(uuid.UUID(run_id)))
    assert body.get("errors") is None
    assert json.dumps(body["data"]["run"]["metadata"], separators=(",", ":")) == nested(254)


def cursor(*fields: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(fields)).encode()).decode()


async def test_a_step_cursor_past_a_32_bit_seq_is_an_argument_error(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    run_id = await recorded_run(client, key)
    query = "query($id: ID!, $a: String) { run(id: $id) { steps(first: 5, after: $a) { edges { node { id } } } } }"  # noqa: E501

    body = await graphql(client, key, query, id=run_id, a=cursor("i", 2**31, str(uuid.uuid4())))

    assert error_messages(body) == ["that cursor belongs to a different list"]


async def test_a_run_cursor_in_year_one_is_an_argument_error(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    body = await graphql(
        client, key, RUNS_QUERY, a=cursor("t", "0001-01-01T00:00:00+01:00", str(uuid.uuid4()))
    )

    assert error_messages(body)[0].startswith("not a cursor from this list")


BAD_FILTERS = [
    ({"from": "0001-01-01T00:00:00+01:00"}, "from must be between 1900-01-01 and 9000-01-01"),
    ({"to": "9999-12-31T23:00:00-05:00"}, "to must be between 1900-01-01 and 9000-01-01"),
    ({"to": "0001-01-02T00:00:00Z", "lastHours": 48}, "to must be between"),
]


@pytest.mark.parametrize(("filter", "message"), BAD_FILTERS)
async def test_filter_times_out_of_range_are_argument_errors(
    client: httpx.AsyncClient, key: IssuedKey, filter: dict[str, Any], message: str
) -> None:
    body = await graphql(client, key, RUNS_QUERY, f=filter)

    assert error_messages(body)[0].startswith(message), body
    stats = await graphql(
        client, key, "query($f: StatsFilter) { stats(filter: $f) { totalRuns } }", f=filter
    )
    assert error_messages(stats)[0].startswith(message), stats


@pytest.mark.parametrize(("filter", "message"), BAD_FILTERS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_exports_with_filter_times_out_of_range_answer_400_before_streaming(
    client: httpx.AsyncClient, key: IssuedKey, filter: dict[str, Any], message: str, fmt: str
) -> None:
    await recorded_run(client, key)

    response = await client.get(f"/export/runs.{fmt}", params=filter, headers=bearer(key))

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"].startswith(message)


async def test_an_export_with_a_filter_time_that_is_not_iso_8601_answers_400(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    response = await client.get(
        "/export/runs.csv", params={"from": "yesterday"}, headers=bearer(key)
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "from must be an ISO 8601 time with a zone, got 'yesterday'"
    )


async def test_a_graphql_body_over_the_request_cap_answers_413(
    client: httpx.AsyncClient, key: IssuedKey
) -> None:
    run_id = await recorded_run(client, key)
    padding = "x" * (3 * 1024 * 1024)  # over the 2 MiB default

    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }", "variables": {"p": padding}},
        headers=bearer(key),
    )

    assert response.status_code == 413
    assert response.json() == {
        "errors": [{"message": "the request body exceeds the limit of 2097152 bytes"}]
    }
    await assert_still_readable(client, key, run_id)


async def test_the_graphql_request_cap_is_configurable(
    database_url: str, engine: AsyncEngine, tmp_path: Any
) -> None:
    key = await new_org_key(engine)
    env = {"TRACEWIRE_MAX_REQUEST_BYTES": "4096"}
    async with (
        serving(database_url, tmp_path, env=env) as small,
        httpx.AsyncClient(base_url=small.http_url) as client,
    ):
        body = {"query": "{ __typename }", "variables": {"p": "x" * 5000}}
        refused = await client.post("/graphql", json=body, headers=bearer(key))
        body["variables"] = {"p": "x" * 3000}
        served = await client.post("/graphql", json=body, headers=bearer(key))

    assert refused.status_code == 413
    assert served.status_code == 200
    assert served.json() == {"data": {"__typename": "Query"}}
