"""The recorder's artifacts against a real Postgres and both stores (a local directory and
SeaweedFS): uploads from bytes, paths and streams, linked to their step, with an event in
the run's log; large step values moved out of the row; a folder that tools write into."""

import asyncio
import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._artifacts import artifact_events, artifacts_of, read_object, store_config
from tests._poll import wait_until
from tests._seaweedfs import SeaweedFS, running_seaweedfs
from tracewire.db.engine import session_factory
from tracewire.db.models import Step
from tracewire.recorder import Recorder, RecorderSettings
from tracewire.storage import StoreConfig

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def seaweedfs() -> Iterator[SeaweedFS]:
    with running_seaweedfs() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
async def config(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    server = request.getfixturevalue("seaweedfs") if request.param == "s3" else None
    return await store_config(request.param, tmp_path, server)


def recorder_for(
    database_url: str, config: StoreConfig, tmp_path: Path, **settings: object
) -> Recorder:
    return Recorder(
        database_url,
        org=f"org-{uuid.uuid4().hex[:8]}",
        settings=RecorderSettings(
            artifact_store=config.url,
            s3=config.s3,
            spool_dir=tmp_path / "spool",
            **settings,  # type: ignore[arg-type]
        ),
    )


async def test_bytes_paths_and_streams_are_stored_with_hash_size_type_and_step(
    database_url: str, engine: AsyncEngine, config: StoreConfig, tmp_path: Path
) -> None:
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    stream_content = b"line\n" * 50_000
    rec = recorder_for(database_url, config, tmp_path)
    with rec.run("bot") as run:
        with run.node("render") as step:
            image_id = step.artifact(PNG, role="chart")
        path_id = run.artifact(report, role="report")
        stream_id = run.artifact(io.BytesIO(stream_content), name="log.txt", role="log")
    assert await asyncio.to_thread(rec.flush, 30)
    await asyncio.to_thread(rec.close)

    rows = {row.id: row for row in await artifacts_of(engine, run.id)}
    assert set(rows) == {image_id, path_id, stream_id}
    image, csv, log = rows[image_id], rows[path_id], rows[stream_id]
    assert (image.role, image.name, image.mime_type, image.step_id) == (
        "chart", "chart.png", "image/png", step.id,
    )  # fmt: skip
    assert (csv.name, csv.mime_type, csv.step_id) == ("report.csv", "text/csv", None)
    assert (log.name, log.mime_type, log.size_bytes) == ("log.txt", "text/plain", 250_000)
    assert log.sha256 == hashlib.sha256(stream_content).hexdigest()
    assert await read_object(config, image.storage_key) == PNG
    assert await read_object(config, csv.storage_key) == b"a,b\n1,2\n"
    assert await read_object(config, log.storage_key) == stream_content
    org_segment = image.storage_key.split("/")[0]
    assert image.storage_key == (
        f"{org_segment}/{run.id.hex}/{step.id.hex}/{image.id.hex}-chart.png"
    )

    events = await artifact_events(engine, run.id)
    assert {event.artifact_id for event in events} == set(rows)
    by_artifact = {event.artifact_id: event for event in events}
    assert by_artifact[image_id].step_id == step.id
    assert by_artifact[image_id].data == {
        "role": "chart", "name": "chart.png", "mime_type": "image/png", "size_bytes": len(PNG),
    }  # fmt: skip


def test_a_missing_file_fails_at_once_on_the_agents_thread(
    database_url: str, tmp_path: Path
) -> None:
    rec = recorder_for(database_url, StoreConfig(str(tmp_path / "store")), tmp_path)
    try:
        with rec.run("bot") as run, pytest.raises(FileNotFoundError):
            run.artifact(tmp_path / "nope.txt")
        with rec.run("bot") as run, pytest.raises(TypeError):
            run.artifact(12345)  # type: ignore[arg-type]
    finally:
        rec.close()


def test_recording_an_artifact_never_waits_for_its_upload(
    database_url: str, tmp_path: Path
) -> None:
    rec = recorder_for(database_url, StoreConfig(str(tmp_path / "store")), tmp_path)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * (64 * 1024 * 1024))
    try:
        with rec.run("bot") as run:
            started = time.perf_counter()
            run.artifact(big)
            run.artifact(b"x" * (16 * 1024 * 1024))
            elapsed = time.perf_counter() - started
            queued = rec.stats().artifacts_queued
        # The calls only queued them (still queued right after): the bound is generous, for a
        # loaded machine, and only catches an agent that waits for the whole upload.
        assert queued >= 1
        assert elapsed < 1.0, f"the agent waited {elapsed * 1000:.1f} ms"
        assert rec.flush(60)
        assert rec.stats().artifacts_uploaded == 2
    finally:
        rec.close()


async def test_a_large_step_value_is_stored_as_an_artifact_and_referenced_from_the_step(
    database_url: str, engine: AsyncEngine, config: StoreConfig, tmp_path: Path
) -> None:
    rec = recorder_for(database_url, config, tmp_path, artifact_inline_limit=2000)
    document = {"pages": ["lorem ipsum " * 50] * 20}
    with rec.run("bot") as run, run.step("summarise", type="llm_call", input=document) as step:
        step.output = {"summary": "short"}
    assert await asyncio.to_thread(rec.flush, 30)
    await asyncio.to_thread(rec.close)

    async with session_factory(engine)() as session:
        row = (await session.scalars(select(Step).where(Step.id == step.id))).one()
    assert row.output == {"summary": "short"}
    reference = row.input
    assert isinstance(reference, dict)
    assert set(reference) == {"$artifact", "role", "size_bytes", "preview"}
    assert reference["role"] == "input" and len(reference["preview"]) == 1000
    (artifact,) = await artifacts_of(engine, run.id)
    assert str(artifact.id) == reference["$artifact"]
    assert (artifact.step_id, artifact.role, artifact.name, artifact.mime_type) == (
        step.id, "input", "input.json", "application/json",
    )  # fmt: skip
    assert json.loads(await read_object(config, artifact.storage_key)) == document
    assert artifact.size_bytes == reference["size_bytes"]


async def test_files_a_tool_writes_into_an_artifact_folder_are_stored(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    config = StoreConfig(str(tmp_path / "store"))
    renders = tmp_path / "renders"
    (renders / "old.png").parent.mkdir()
    (renders / "old.png").write_bytes(PNG)  # there before: not this run's
    rec = recorder_for(database_url, config, tmp_path)
    with rec.run("bot") as run, run.artifact_dir(renders, role="render", interval=0.05) as folder:
        (renders / "frames").mkdir()
        (renders / "frames" / "f1.png").write_bytes(PNG)
        # Stored by the watcher, while the run goes on.
        await wait_until(lambda: folder.stored, what="the watcher storing frames/f1.png")
        assert len(folder.stored) == 1
        (renders / "final.txt").write_text("done")
    assert await asyncio.to_thread(rec.flush, 30)
    await asyncio.to_thread(rec.close)

    rows = await artifacts_of(engine, run.id)
    assert sorted((row.name, row.role) for row in rows) == [
        ("final.txt", "render"), ("frames_f1.png", "render"),
    ]  # fmt: skip
