"""Fixtures on real parts: a real Postgres (TEST_DATABASE_URL, else an embedded server
started for this test session), with a fresh database migrated to head."""

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tracewire.db import migrate
from tracewire.db.embedded import EmbeddedPostgres
from tracewire.db.engine import create_engine, driver_dsn, with_database

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page


_FOLDER_MARKS = {"ui": pytest.mark.browser, "packaging": pytest.mark.packaging}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of tests/ui is a browser test and every one of tests/packaging a
    packaging one, without each module having to say so."""
    tests_dir = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests_dir) if item.path.is_relative_to(tests_dir) else None
        if relative is not None and (mark := _FOLDER_MARKS.get(relative.parts[0])) is not None:
            item.add_marker(mark)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL of a Postgres server where the tests may create databases."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    # Not under pytest's tmp_path: pytest prunes old numbered dirs, which would pull the
    # data dir from under a server another test session still runs.
    data_dir = Path(tempfile.mkdtemp(prefix="tracewire-test-pg-"))
    server = EmbeddedPostgres(data_dir / "pgdata")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def create_database(server_url: str, prefix: str = "tracewire_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(driver_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    conn = await asyncpg.connect(driver_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database at the newest schema, shared by the session's tests."""
    url = await create_database(postgres_server_url)
    await migrate.upgrade(url)
    try:
        yield url
    finally:
        await drop_database(postgres_server_url, url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    try:
        yield engine
    finally:
        await engine.dispose()


# The browser tests' Chromium (one per test module) and a fresh page per test.
@pytest.fixture(scope="module")
async def browser() -> AsyncIterator["Browser"]:
    from tests._browser import chromium  # Playwright only where a test needs it

    async with chromium() as launched:
        yield launched


@pytest.fixture
async def page(browser: "Browser") -> AsyncIterator["Page"]:
    from tests._browser import new_page

    async with new_page(browser) as opened:
        yield opened
