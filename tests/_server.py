"""`tracewire serve` as a real process on a loopback port, for tests that need a real
server (websockets, restarts, several servers on one database)."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

TRACEWIRE = Path(sys.executable).with_name("tracewire")
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """One server; `start()` again after `stop()` restarts it on the same port."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *extra_args: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        assert TRACEWIRE.exists(), "install the package first: make .venv/.installed-dev"
        self.database_url = database_url
        self.workdir = workdir
        self.port = free_port()
        self.extra_args = extra_args
        self.extra_env = dict(env or {})  # settings without a CLI flag (TRACEWIRE_...)
        self.process: asyncio.subprocess.Process | None = None
        self.log = workdir / f"server-{self.port}.log"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def start(self) -> None:
        env = {
            name: value
            for name, value in os.environ.items()
            if name != "DATABASE_URL" and not name.startswith("TRACEWIRE_")
        }
        env["TRACEWIRE_DATA_DIR"] = str(self.workdir / "data")
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        args = [str(TRACEWIRE), "serve", "--port", str(self.port)]
        args += ["--database-url", self.database_url, *self.extra_args]
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                *args, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env
            )
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with httpx.AsyncClient() as client:
            while True:
                assert self.process is not None
                assert self.process.returncode is None, f"server exited:\n{self.output()}"
                assert time.monotonic() < deadline, f"not healthy in time:\n{self.output()}"
                try:
                    response = await client.get(f"{self.http_url}/healthz", timeout=2)
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> int:
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.returncode is not None:
            return process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            return await process.wait()


@asynccontextmanager
async def serving(
    database_url: str, workdir: Path, *args: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    """A started server, stopped on exit, which must exit cleanly."""
    server = ServerProcess(database_url, workdir, *args, env=env)
    await server.start()
    try:
        yield server
    finally:
        assert await server.stop() == 0, server.output()
