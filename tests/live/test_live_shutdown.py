"""The live service stops cleanly whenever it is told to: a server stopped as soon as it
has started, and a lifespan ended while the LISTEN connection is still being opened (the
database frozen with SIGSTOP). broadcaster's `subscribe`, cancelled halfway, used to fail
its own cleanup with `KeyError: 'tracewire_events'`."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests._poll import wait_until
from tests._private_postgres import PrivatePostgres, migrated_private_postgres
from tests._server import ServerProcess
from tracewire.db.engine import create_engine, session_factory
from tracewire.live.service import running_live


@pytest.fixture(scope="module")
async def private_db() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    async with migrated_private_postgres() as server_and_url:
        yield server_and_url


@pytest.mark.parametrize("when", ["as it starts", "once it is healthy"])
async def test_a_server_stopped_right_after_it_starts_exits_cleanly(
    database_url: str, tmp_path: Path, when: str
) -> None:
    server = ServerProcess(database_url, tmp_path)
    if when == "as it starts":
        server._spawn()  # SIGTERM before it is healthy, mid-startup
        await wait_until(lambda: "Waiting for application startup" in server.output(), within=60)
    else:
        await server.start()
    assert await server.stop() == 0, server.output()
    assert "Traceback" not in server.output()
    assert "KeyError" not in server.output()


@pytest.mark.slow
async def test_the_live_service_stops_cleanly_while_its_listen_is_in_flight(
    private_db: tuple[PrivatePostgres, str], caplog: pytest.LogCaptureFixture
) -> None:
    postgres, url = private_db
    engine = create_engine(url, pool_size=1)
    started = asyncio.Event()

    async def lifespan() -> None:
        async with running_live(
            database_url=url,
            notify_url=None,
            engine=engine,
            sessions=session_factory(engine),
            stall_after=60,
        ):
            started.set()
            await asyncio.Event().wait()

    caplog.set_level(logging.INFO)
    await asyncio.to_thread(postgres.hang)
    try:
        already = postgres.waiting_connections()
        task = asyncio.create_task(lifespan())
        # Frozen, the database takes the connection (the kernel does) and never answers:
        # once the service made one, it is opening its LISTEN connection and gets no further.
        await wait_until(
            lambda: postgres.waiting_connections() > already or task.done(),
            what="the live service connecting to the frozen database",
        )
        assert not started.is_set() and not task.done()
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        assert time.monotonic() - cancelled_at < 5  # it did not wait for the database
    finally:
        await asyncio.to_thread(postgres.resume)
        await engine.dispose()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
