"""The embedded PostgreSQL offered on a loopback TCP port: agents in other processes reach it
with a plain postgresql://host:port URL."""

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tracewire.db.embedded import EmbeddedPostgres
from tracewire.db.loopback import LoopbackPort


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("loopback") / "pgdata")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_queries_through_the_loopback_port_reach_the_embedded_server(
    embedded: EmbeddedPostgres,
) -> None:
    loopback = LoopbackPort(embedded.socket_path(), 0)
    port = loopback.start()
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        first, second = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            pids = await asyncio.gather(
                first.fetchval("SELECT pg_backend_pid()"),
                second.fetchval("SELECT pg_backend_pid()"),
            )
            assert pids[0] != pids[1]  # two connections, two backends
            rows = await first.fetch("SELECT generate_series(1, 20000) AS n")
            assert len(rows) == 20000  # more than one forwarded chunk
        finally:
            await first.close()
            await second.close()
    finally:
        loopback.close()


async def test_closing_the_port_ends_its_connections_and_frees_the_port(
    embedded: EmbeddedPostgres,
) -> None:
    loopback = LoopbackPort(embedded.socket_path(), 0)
    port = loopback.start()
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    await asyncio.to_thread(loopback.close)
    with pytest.raises((asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError, OSError)):
        await conn.fetchval("SELECT 1")
    conn.terminate()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_a_taken_port_is_refused_at_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            LoopbackPort(tmp_path / "no.socket", port).start()
