"""Helpers for the artifact tests: stores on both backends, and reading what the recorder
committed."""

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._seaweedfs import SeaweedFS
from tracewire.db.engine import session_factory
from tracewire.db.models import Artifact, RunEvent
from tracewire.storage import ObjectStore, StoreConfig, open_store
from tracewire.storage.s3 import S3Store


async def store_config(kind: str, tmp_path: Path, seaweedfs: SeaweedFS | None) -> StoreConfig:
    """A fresh local directory, or a fresh prefix in a bucket on the SeaweedFS server."""
    if kind == "local":
        return StoreConfig(str(tmp_path / "artifacts"))
    assert seaweedfs is not None
    # One bucket, a prefix per test: every bucket takes volumes of its own on SeaweedFS,
    # and a test server runs out of them after a dozen.
    config = seaweedfs.store_config(bucket="tracewire-tests", prefix=uuid.uuid4().hex[:12])
    store = S3Store(config)
    try:
        await store.ensure_bucket()
    finally:
        await store.close()
    return config


async def read_object(config: StoreConfig, key: str) -> bytes:
    store: ObjectStore = open_store(config)
    try:
        return b"".join([chunk async for chunk in await store.read(key)])
    finally:
        await store.close()


async def artifacts_of(engine: AsyncEngine, run_id: uuid.UUID) -> list[Artifact]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(
            select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.created_at)
        )
        return list(rows)


async def artifact_events(engine: AsyncEngine, run_id: uuid.UUID) -> list[RunEvent]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(
            select(RunEvent)
            .where(RunEvent.run_id == run_id, RunEvent.kind == "artifact_added")
            .order_by(RunEvent.seq)
        )
        return list(rows)
