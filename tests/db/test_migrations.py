"""The schema comes and goes through Alembic, and the migrations match the models."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.conftest import create_database, drop_database
from tracewire.db import migrate
from tracewire.db.engine import create_engine
from tracewire.db.models import Base

# Parallel branches may each add a head until they are linearised; upgrades go to all.
HEADS = migrate.heads_label()


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def test_upgrade_creates_every_table_and_downgrade_removes_them(
    postgres_server_url: str,
) -> None:
    url = await create_database(postgres_server_url)
    try:
        await migrate.upgrade(url)
        assert await _tables(url) == set(Base.metadata.tables)
        assert await migrate.current_revision(url) == HEADS

        await migrate.downgrade(url, "base")
        assert await _tables(url) == set()

        await migrate.upgrade(url)
        assert await _tables(url) == set(Base.metadata.tables)
    finally:
        await drop_database(postgres_server_url, url)


async def test_migrated_schema_has_no_drift_from_the_models(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_servers_starting_together_migrate_once(postgres_server_url: str) -> None:
    url = await create_database(postgres_server_url)
    try:
        await asyncio.gather(*(migrate.upgrade(url) for _ in range(4)))
        assert await migrate.current_revision(url) == HEADS
    finally:
        await drop_database(postgres_server_url, url)
