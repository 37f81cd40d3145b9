"""Artifacts through the API, on both stores: GraphQL lists them on runs and steps with a
working download URL, the download route streams ranges, and one org never reaches
another's artifact: not by id, not by a forged or expired link, not through GraphQL."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import BASE_URL, bearer, data, new_org_key
from tests._artifacts import store_config
from tests._poll import wait_until
from tests._seaweedfs import SeaweedFS, running_seaweedfs
from tracewire.api.app import create_app
from tracewire.api.artifacts import UrlSigner, load_secret
from tracewire.api.keys import IssuedKey
from tracewire.api.settings import ServerSettings
from tracewire.recorder import Recorder, RecorderSettings
from tracewire.storage import StoreConfig

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
NOTES = b"0123456789" * 100
PAGE = b"<html><script>alert(document.cookie)</script></html>"

RUN_QUERY = """
query ($id: ID!) {
  run(id: $id) {
    artifacts { id runId stepId role name mimeType sizeBytes sha256 createdAt downloadUrl }
    steps { nodes { name artifacts { id name downloadUrl } } }
    events(first: 100) { nodes { kind artifactId } }
  }
}
"""


@dataclass
class World:
    client: httpx.AsyncClient
    owner: IssuedKey
    stranger: IssuedKey
    run_id: uuid.UUID
    step_id: uuid.UUID
    ids: dict[str, uuid.UUID]  # name -> artifact id
    data_dir: Path
    s3: bool

    async def fetch(self, url: str, **kwargs: Any) -> httpx.Response:
        """A download URL as a browser would follow it: relative ones from this server."""
        if url.startswith("/"):
            return await self.client.get(url, **kwargs)
        async with httpx.AsyncClient() as outside:
            return await outside.get(url, **kwargs)


@pytest.fixture(scope="module")
def seaweedfs() -> Iterator[SeaweedFS]:
    with running_seaweedfs() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
async def world(
    request: pytest.FixtureRequest, database_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[World]:
    server = request.getfixturevalue("seaweedfs") if request.param == "s3" else None
    config: StoreConfig = await store_config(request.param, tmp_path, server)
    owner = await new_org_key(engine)
    stranger = await new_org_key(engine)
    slug = await _slug(engine, owner.org_id)
    rec = Recorder(
        database_url,
        org=slug,
        settings=RecorderSettings(
            artifact_store=config.url, s3=config.s3, spool_dir=tmp_path / "spool"
        ),
    )
    with rec.run("bot") as run, run.node("render") as step:
        ids = {
            "chart.png": step.artifact(PNG, name="chart.png", role="chart"),
            "notes.txt": run.artifact(NOTES, name="notes.txt", role="notes"),
            "page.html": run.artifact(PAGE, name="page.html", role="report"),
        }
    assert await asyncio.to_thread(rec.flush, 30)
    await asyncio.to_thread(rec.close)

    data_dir = tmp_path / "data"
    settings = ServerSettings(
        database_url=database_url,
        data_dir=data_dir,
        artifact_store=config.url,
        s3=config.s3,
        artifact_url_ttl=3,
        grpc_port=0,  # off: in-process apps must not take the machine's OTLP/gRPC port
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield World(
                client, owner, stranger, run.id, step.id, ids, data_dir, request.param == "s3"
            )


async def _slug(engine: AsyncEngine, org_id: uuid.UUID) -> str:
    async with engine.connect() as conn:
        from sqlalchemy import text

        slug: str = (
            await conn.execute(
                text("SELECT slug FROM organizations WHERE id = :id"), {"id": org_id}
            )
        ).scalar_one()
    return slug


async def test_runs_and_steps_list_their_artifacts_with_working_download_urls(
    world: World,
) -> None:
    run = (await data(world.client, RUN_QUERY, world.owner, id=str(world.run_id)))["run"]
    by_name = {artifact["name"]: artifact for artifact in run["artifacts"]}
    assert set(by_name) == {"chart.png", "notes.txt", "page.html"}
    chart = by_name["chart.png"]
    assert chart["id"] == str(world.ids["chart.png"])
    assert (chart["runId"], chart["stepId"]) == (str(world.run_id), str(world.step_id))
    assert (chart["role"], chart["mimeType"], chart["sizeBytes"]) == (
        "chart", "image/png", len(PNG),
    )  # fmt: skip
    assert by_name["notes.txt"]["stepId"] is None
    (render,) = run["steps"]["nodes"]
    assert [a["name"] for a in render["artifacts"]] == ["chart.png"]
    added = [e["artifactId"] for e in run["events"]["nodes"] if e["kind"] == "ARTIFACT_ADDED"]
    assert sorted(added) == sorted(str(i) for i in world.ids.values())

    for name, content in (("chart.png", PNG), ("notes.txt", NOTES), ("page.html", PAGE)):
        url = by_name[name]["downloadUrl"]
        assert url.startswith("http") if world.s3 else url.startswith("/artifacts/")
        response = await world.fetch(url)  # no Authorization header: the URL is the proof
        assert response.status_code == 200, response.text
        assert response.content == content
    image = await world.fetch(chart["downloadUrl"])
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"] == 'inline; filename="chart.png"'


async def test_browser_executable_types_download_as_attachments_never_sniffed(
    world: World,
) -> None:
    run = (await data(world.client, RUN_QUERY, world.owner, id=str(world.run_id)))["run"]
    page = next(a for a in run["artifacts"] if a["name"] == "page.html")
    response = await world.fetch(page["downloadUrl"])
    assert response.headers["content-disposition"] == 'attachment; filename="page.html"'
    route = await world.client.get(f"/artifacts/{page['id']}/content", headers=bearer(world.owner))
    assert route.status_code == 200
    assert route.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert route.headers["x-content-type-options"] == "nosniff"
    assert route.headers["content-security-policy"] == "sandbox"


async def test_the_download_route_serves_ranges_and_head(world: World) -> None:
    path = f"/artifacts/{world.ids['notes.txt']}/content"
    headers = bearer(world.owner)

    part = await world.client.get(path, headers={**headers, "Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == NOTES[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(NOTES)}"
    assert part.headers["accept-ranges"] == "bytes"

    tail = await world.client.get(path, headers={**headers, "Range": "bytes=-5"})
    assert (tail.status_code, tail.content) == (206, NOTES[-5:])
    rest = await world.client.get(path, headers={**headers, "Range": "bytes=995-"})
    assert (rest.status_code, rest.content) == (206, NOTES[995:])
    several = await world.client.get(path, headers={**headers, "Range": "bytes=0-1,5-6"})
    assert (several.status_code, several.content) == (200, NOTES)

    beyond = await world.client.get(path, headers={**headers, "Range": "bytes=5000-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(NOTES)}"

    head = await world.client.head(path, headers=headers)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(NOTES))
    assert head.content == b""


async def test_download_links_expire(world: World) -> None:
    run = (await data(world.client, RUN_QUERY, world.owner, id=str(world.run_id)))["run"]
    notes = next(a for a in run["artifacts"] if a["name"] == "notes.txt")
    if world.s3:
        # artifact_url_ttl=3: the presigned URL dies a few seconds from now.
        async def refused() -> bool:
            return (await world.fetch(notes["downloadUrl"])).status_code == 403

        await wait_until(refused, every=0.5, what="the presigned URL refused (403)")
        return
    # Server links are rounded to the minute: forge one that ended a second ago, signed
    # with the server's own secret, to see the server refuse it.
    signer = UrlSigner(load_secret(None, world.data_dir), ttl=3)
    expired = int(time.time()) - 1
    signature = signer.sign(world.ids["notes.txt"], world.owner.org_id, expired)
    path = f"/artifacts/{notes['id']}/content?expires={expired}&sig={signature}"
    assert (await world.client.get(path)).status_code == 403


async def test_one_org_cannot_reach_another_orgs_artifacts(world: World) -> None:
    artifact_id = world.ids["notes.txt"]
    path = f"/artifacts/{artifact_id}/content"

    # Through GraphQL the run does not exist for the stranger.
    assert (await data(world.client, RUN_QUERY, world.stranger, id=str(world.run_id)))[
        "run"
    ] is None
    # By id with the stranger's own key: as if there were no such artifact.
    assert (await world.client.get(path, headers=bearer(world.stranger))).status_code == 404
    assert (await world.client.head(path, headers=bearer(world.stranger))).status_code == 404
    # Without any credentials.
    assert (await world.client.get(path)).status_code == 401
    # By guessing or forging links.
    signer = UrlSigner(b"not the server's secret at all", ttl=60)
    expires = signer.expiry()
    forged = signer.sign(artifact_id, world.stranger.org_id, expires)
    assert (await world.client.get(f"{path}?expires={expires}&sig={forged}")).status_code == 403
    run = (await data(world.client, RUN_QUERY, world.owner, id=str(world.run_id)))["run"]
    chart = next(a for a in run["artifacts"] if a["name"] == "chart.png")
    if not world.s3:
        # A valid link for one artifact opens no other.
        other = chart["downloadUrl"].replace(chart["id"], str(artifact_id))
        assert (await world.client.get(other)).status_code == 403
        longer = chart["downloadUrl"].replace("expires=", "expires=9")
        assert (await world.client.get(longer)).status_code == 403
    # Ids that are not ids, or name nothing.
    assert (await world.client.get("/artifacts/..%2F..%2Fetc/content")).status_code == 404
    missing = f"/artifacts/{uuid.uuid4()}/content"
    assert (await world.client.get(missing, headers=bearer(world.owner))).status_code == 404
