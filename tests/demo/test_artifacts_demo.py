"""The demo agent stores real files with every run: a PNG chart and the draft reply as
text, on the LLM step that made them, downloadable through GraphQL's URLs."""

import asyncio
import uuid
import zlib
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import BASE_URL, data
from tests._artifacts import read_object
from tracewire.api.app import create_app
from tracewire.api.settings import ServerSettings
from tracewire.demo.agent import run_demo
from tracewire.storage import StoreConfig

QUERY = """
query ($id: ID!) {
  run(id: $id) {
    steps(nodes: ["draft-reply"]) { nodes { artifacts { name mimeType downloadUrl } } }
  }
}
"""


async def test_every_demo_run_stores_a_png_chart_and_its_draft_reply(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    org = f"demo-{uuid.uuid4().hex[:8]}"
    store = StoreConfig(str(tmp_path / "artifacts"))
    runs = await asyncio.to_thread(
        run_demo, database_url, org=org, runs_per_second=100, max_runs=4, seed=7, store=store
    )
    assert runs == 4

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT a.run_id, a.name, a.mime_type, a.storage_key, s.name AS step "
                    "FROM artifacts a JOIN steps s ON s.id = a.step_id "
                    "JOIN organizations o ON o.id = a.org_id WHERE o.slug = :org"
                ),
                {"org": org},
            )
        ).all()
    by_run: dict[uuid.UUID, dict[str, str]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, {})[row.mime_type] = row.storage_key
        assert row.step == "draft-reply"
    assert len(by_run) == 4
    for files in by_run.values():
        assert set(files) == {"image/png", "text/plain"}
        png = await read_object(store, files["image/png"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        idat = png.index(b"IDAT")
        length = int.from_bytes(png[idat - 4 : idat], "big")
        assert zlib.decompress(png[idat + 4 : idat + 4 + length])  # a real image stream
        assert (await read_object(store, files["text/plain"])).decode().strip()

    settings = ServerSettings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        artifact_store=store.url,
        anonymous_org=org,
        grpc_port=0,  # its default port is one per machine: other test sessions want it
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            run_id = next(iter(by_run))
            run = (await data(client, QUERY, None, id=str(run_id)))["run"]
            (step,) = run["steps"]["nodes"]
            assert len(step["artifacts"]) == 2
            for artifact in step["artifacts"]:
                response = await client.get(artifact["downloadUrl"])
                assert response.status_code == 200
                assert response.headers["content-type"].startswith(artifact["mimeType"])
