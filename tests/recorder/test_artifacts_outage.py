"""S3 outages while the recorder uploads: the artifact is retried, then parked on disk and
taken up by the next process, and its record is committed exactly once, only after its
object is stored (never a record pointing at nothing)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._artifacts import artifact_events, artifacts_of, read_object, store_config
from tests._poll import wait_until
from tests._seaweedfs import SeaweedFS, running_seaweedfs
from tracewire.recorder import Recorder, RecorderSettings

pytestmark = pytest.mark.slow

CONTENT = b"the quarterly report\n" * 1000


@pytest.fixture
def seaweedfs() -> Iterator[SeaweedFS]:
    with running_seaweedfs() as server:
        yield server


def settings_for(
    seaweedfs: SeaweedFS, bucket_url: str, tmp_path: Path, retry_for: float
) -> RecorderSettings:
    return RecorderSettings(
        org="outages",
        artifact_store=bucket_url,
        s3=seaweedfs.options(),
        spool_dir=tmp_path / "spool",
        artifact_retry_for=retry_for,
    )


async def test_an_upload_during_an_outage_is_retried_and_committed_once_the_store_is_back(
    database_url: str, engine: AsyncEngine, seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    config = await store_config("s3", tmp_path, seaweedfs)
    rec = Recorder(database_url, settings=settings_for(seaweedfs, config.url, tmp_path, 120))
    try:
        await asyncio.to_thread(seaweedfs.stop)
        with rec.run("bot") as run:
            artifact_id = run.artifact(CONTENT, name="report.txt")
        await wait_until(
            lambda: rec.stats().artifact_failed_attempts >= 2,
            every=0.1,
            what=lambda: f"two failed uploads: {rec.stats()}",
        )
        assert await artifacts_of(engine, run.id) == []  # no record without its object

        await asyncio.to_thread(seaweedfs.start)
        assert await asyncio.to_thread(rec.flush, 60)
    finally:
        await asyncio.to_thread(rec.close)

    (row,) = await artifacts_of(engine, run.id)
    assert row.id == artifact_id
    assert await read_object(config, row.storage_key) == CONTENT
    assert [event.artifact_id for event in await artifact_events(engine, run.id)] == [row.id]
    stats = rec.stats()
    assert (stats.artifacts_uploaded, stats.artifacts_parked, stats.artifacts_dropped) == (1, 0, 0)


async def test_an_outage_past_the_retry_budget_parks_the_artifact_for_the_next_process(
    database_url: str, engine: AsyncEngine, seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    config = await store_config("s3", tmp_path, seaweedfs)
    settings = settings_for(seaweedfs, config.url, tmp_path, retry_for=0.5)
    await asyncio.to_thread(seaweedfs.stop)
    first = Recorder(database_url, settings=settings)
    source = tmp_path / "deleted-later.txt"
    source.write_bytes(CONTENT)
    with first.run("bot") as run:
        from_path = run.artifact(source)
        from_bytes = run.artifact(b"small", name="small.txt")
    assert not await asyncio.to_thread(first.flush, 30)  # parked, so not committed
    assert first.stats().artifacts_parked == 2
    await asyncio.to_thread(first.close, 5)
    source.unlink()  # the agent cleans up: the parked copy is what counts now
    park_dir = first._artifacts.park_dir
    assert park_dir is not None
    assert len(list(park_dir.glob("*.json"))) == len(list(park_dir.glob("*.data"))) == 2
    assert await artifacts_of(engine, run.id) == []

    await asyncio.to_thread(seaweedfs.start)
    second = Recorder(database_url, settings=settings)  # as the next process would
    try:

        async def both_stored() -> bool:
            return len(await artifacts_of(engine, run.id)) >= 2

        await wait_until(
            both_stored, within=60, every=0.2, what=lambda: f"both stored: {second.stats()}"
        )
        assert await asyncio.to_thread(second.flush, 30)
    finally:
        await asyncio.to_thread(second.close)

    rows = {row.id: row for row in await artifacts_of(engine, run.id)}
    assert set(rows) == {from_path, from_bytes}
    assert await read_object(config, rows[from_path].storage_key) == CONTENT
    assert rows[from_path].name == "deleted-later.txt"
    assert await read_object(config, rows[from_bytes].storage_key) == b"small"
    events = await artifact_events(engine, run.id)
    assert sorted(str(e.artifact_id) for e in events) == sorted(str(i) for i in rows)
    assert list(park_dir.iterdir()) == []
