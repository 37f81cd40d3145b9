"""Artifacts of a recorder that records over HTTP go through the server into the server's
store: an agent with only a URL and an API key records files that download from the server
(under its key's organization), large step values included, and an upload made while the
server is down is stored once it is back. An explicit `artifact_store` still wins."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key
from tests._artifacts import artifacts_of
from tests._poll import wait_until
from tests._server import ServerProcess, serving
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import session_factory
from tracewire.db.models import Organization, Step
from tracewire.recorder import Recorder, RecorderSettings

REPORT = b"the quarterly report\n" * 5000


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(database_url, tmp_path_factory.mktemp("http-artifacts")) as started:
        yield started


async def slug_of(key: IssuedKey, engine: AsyncEngine) -> str:
    async with session_factory(engine)() as session:
        slug = await session.scalar(select(Organization.slug).where(Organization.id == key.org_id))
    assert slug is not None
    return slug


async def download(server: ServerProcess, key: IssuedKey, artifact_id: uuid.UUID) -> bytes:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        response = await client.get(f"/artifacts/{artifact_id}/content", headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.content


def recorder(server: ServerProcess, key: IssuedKey, settings: RecorderSettings) -> Recorder:
    """A recorder given only the server's URL and an API key (and a spool of the test's)."""
    return Recorder(server.http_url, api_key=key.secret, settings=settings)


def test_an_http_recorders_artifacts_go_to_the_server_unless_a_store_is_given() -> None:
    through_server = RecorderSettings(server_url="http://tracewire:8000", api_key="sk-tw-1")
    given = RecorderSettings(
        server_url="http://tracewire:8000", api_key="sk-tw-1", artifact_store="s3://team/agents"
    )

    assert through_server.store_config().url == "http://tracewire:8000"
    assert through_server.store_config().api_key == "sk-tw-1"
    assert given.store_config().url == "s3://team/agents"


async def test_an_artifact_recorded_over_http_downloads_from_the_server(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    owner = await new_org_key(engine)
    rec = recorder(server, owner, RecorderSettings(spool_dir=tmp_path / "spool"))
    try:
        with rec.run("bot") as run, run.node("write") as step:
            artifact_id = step.artifact(REPORT, name="report.txt", role="report")
        assert await asyncio.to_thread(rec.flush, 60)
    finally:
        await asyncio.to_thread(rec.close)

    (row,) = await artifacts_of(engine, run.id)
    assert (row.id, row.step_id, row.role, row.size_bytes) == (
        artifact_id, step.id, "report", len(REPORT),
    )  # fmt: skip
    assert row.storage_key.startswith(f"{await slug_of(owner, engine)}/")
    assert (server.workdir / "data" / "artifacts" / row.storage_key).read_bytes() == REPORT
    assert await download(server, owner, artifact_id) == REPORT


async def test_a_large_step_output_of_an_http_recorder_is_offloaded_through_the_server(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    owner = await new_org_key(engine)
    settings = RecorderSettings(spool_dir=tmp_path / "spool", artifact_inline_limit=1000)
    rec = recorder(server, owner, settings)
    output = {"rows": ["x" * 100] * 100}
    try:
        with rec.run("bot") as run, run.node("query") as step:
            step.output = output
        assert await asyncio.to_thread(rec.flush, 60)
    finally:
        await asyncio.to_thread(rec.close)

    async with session_factory(engine)() as session:
        row = await session.scalar(select(Step).where(Step.id == step.id))
    assert row is not None and isinstance(row.output, dict)
    artifact_id = uuid.UUID(row.output["$artifact"])
    assert orjson.loads(await download(server, owner, artifact_id)) == output


@pytest.mark.slow
async def test_an_artifact_recorded_while_the_server_is_down_is_stored_once_it_is_back(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    owner = await new_org_key(engine)
    settings = RecorderSettings(spool_dir=tmp_path / "spool", artifact_retry_for=120.0)
    rec = recorder(server, owner, settings)
    try:
        await server.stop()
        with rec.run("bot") as run:
            artifact_id = run.artifact(REPORT, name="report.txt")
        await wait_until(
            lambda: rec.stats().artifact_failed_attempts >= 2,
            every=0.1,
            what=lambda: f"two failed uploads: {rec.stats()}",
        )

        await server.start()
        assert await asyncio.to_thread(rec.flush, 60)
    finally:
        if server.process is None:
            await server.start()
        await asyncio.to_thread(rec.close)

    assert [row.id for row in await artifacts_of(engine, run.id)] == [artifact_id]
    assert await download(server, owner, artifact_id) == REPORT
    stats = rec.stats()
    assert (stats.artifacts_uploaded, stats.artifacts_parked, stats.artifacts_dropped) == (1, 0, 0)
