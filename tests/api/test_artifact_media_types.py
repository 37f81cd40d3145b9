"""Artifacts' media types on a real server process: a malformed one (a CR LF, a path in the
subtype) is stored as application/octet-stream, whether the recorder or a client of the
ingest endpoint sent it; only known-safe types are shown inline; and a row stored with a
bad type before this check still downloads, as an attachment that is never sniffed."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key, unique_slug
from tests._poll import wait_until
from tests._server import ServerProcess, serving
from tracewire.api.ingest.wire import MEDIA_TYPE
from tracewire.recorder import Recorder, RecorderSettings
from tracewire.storage import artifact_key

ARTIFACTS = """
query ($id: ID!) { run(id: $id) { artifacts { id name mimeType downloadUrl } } }
"""
HTML = b"<html><script>alert(1)</script></html>"


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(database_url, tmp_path_factory.mktemp("media-types")) as started:
        yield started
        assert "Traceback" not in started.output(), started.output()


async def artifacts_of(
    client: httpx.AsyncClient, secret: str, run_id: uuid.UUID, count: int
) -> dict[str, dict[str, Any]]:
    """The run's artifacts by name, once `count` of them are listed."""
    answers: list[str] = []

    async def listed() -> dict[str, dict[str, Any]] | None:
        response = await client.post(
            "/graphql",
            json={"query": ARTIFACTS, "variables": {"id": str(run_id)}},
            headers=bearer(secret),
        )
        answers.append(response.text)
        run = response.json()["data"]["run"]
        if run is not None and len(run["artifacts"]) >= count:
            return {artifact["name"]: artifact for artifact in run["artifacts"]}
        return None

    return await wait_until(
        listed, every=0.1, what=lambda: f"{count} artifacts listed: {answers[-1]}"
    )


async def test_the_recorder_stores_malformed_media_types_as_octet_stream(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    slug = unique_slug("media")
    key = await new_org_key(engine, slug)
    recorder = Recorder(server.http_url, api_key=key.secret, settings=RecorderSettings())
    with recorder.run("bot") as run:
        run.artifact(HTML, name="odd.bin", role="report", mime_type="video/../../text/html")
        run.artifact(HTML, name="crlf.bin", role="report", mime_type="text/plain\r\nX-Evil: 1")
        run.artifact(b"plain", name="notes.txt", role="notes", mime_type="text/plain")
    assert await asyncio.to_thread(recorder.flush, 30)
    await asyncio.to_thread(recorder.close)

    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        by_name = await artifacts_of(client, key.secret, run.id, 3)
        assert by_name["odd.bin"]["mimeType"] == "application/octet-stream"
        assert by_name["crlf.bin"]["mimeType"] == "application/octet-stream"
        assert by_name["notes.txt"]["mimeType"] == "text/plain"
        odd = await client.get(by_name["odd.bin"]["downloadUrl"])
        notes = await client.get(by_name["notes.txt"]["downloadUrl"])

    assert odd.status_code == 200 and odd.content == HTML
    assert odd.headers["content-type"] == "application/octet-stream"
    assert odd.headers["content-disposition"].startswith("attachment")
    assert odd.headers["x-content-type-options"] == "nosniff"
    assert notes.headers["content-disposition"].startswith("inline")


async def test_an_ingested_artifact_record_with_a_malformed_type_is_stored_as_octet_stream(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    slug = unique_slug("media")
    key = await new_org_key(engine, slug)
    run_id, artifact_id = uuid.uuid4(), uuid.uuid4()
    storage_key = artifact_key(slug, run_id, None, artifact_id, "page.bin")
    now = time.time()
    records = [
        [0, run_id.hex, slug, "bot", None, None, None, None, None, now],
        [6, artifact_id.hex, run_id.hex, None, "report", "page.bin", storage_key,
         "video/../../text/html", 3, "0" * 64, now],
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        response = await client.post(
            "/v1/ingest",
            content=json.dumps({"id": uuid.uuid4().hex, "records": records}),
            headers={**bearer(key), "Content-Type": MEDIA_TYPE},
        )
        assert response.status_code == 200, response.text
        by_name = await artifacts_of(client, key.secret, run_id, 1)

    assert by_name["page.bin"]["mimeType"] == "application/octet-stream"


@pytest.mark.parametrize(
    "stored", ["text/html\r\nX-Evil: 1", "video/../../text/html", "image/png\nSet-Cookie: a=b"]
)
async def test_a_row_stored_earlier_with_a_bad_type_still_downloads_as_an_attachment(
    server: ServerProcess, engine: AsyncEngine, stored: str
) -> None:
    slug = unique_slug("media")
    key = await new_org_key(engine, slug)
    recorder = Recorder(server.http_url, api_key=key.secret, settings=RecorderSettings())
    with recorder.run("bot") as run:
        artifact_id = run.artifact(HTML, name="page.html", role="report")
    assert await asyncio.to_thread(recorder.flush, 30)
    await asyncio.to_thread(recorder.close)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        await artifacts_of(client, key.secret, run.id, 1)
        async with engine.begin() as conn:  # as a server before this check stored it
            await conn.execute(
                text("UPDATE artifacts SET mime_type = :mime WHERE id = :id"),
                {"mime": stored, "id": artifact_id},
            )

        response = await client.get(f"/artifacts/{artifact_id}/content", headers=bearer(key.secret))

    assert response.status_code == 200
    assert response.content == HTML
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-evil" not in response.headers and "set-cookie" not in response.headers
