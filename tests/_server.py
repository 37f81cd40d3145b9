"""`tracewire serve` as a real process on a loopback port, for tests that need a real
server (websockets, restarts, several servers on one database).

Made for a loaded machine with other test sessions on it: every port is a free one (OTLP/gRPC
is off unless a test asks for it, since its default 4317 is one port per machine), a start
that lost its port to another process between `free_port()` and the bind retries on another,
and start and stop have deadlines far above what they take, with the log's tail on failure."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests._poll import wait_until

TRACEWIRE = Path(sys.executable).with_name("tracewire")
# Migrations and the first imports take a few seconds idle; a loaded machine, several times that.
STARTUP_TIMEOUT = 120.0
# SIGTERM drains the ingest queue and closes websockets: seconds, unless something hangs.
STOP_TIMEOUT = 30.0
_PORT_ATTEMPTS = 3
_TAIL_LINES = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """One server; `start()` again after `stop()` restarts it on the same port. `port` may
    change during the first `start()` (its port taken meanwhile), never after.

    OTLP/gRPC is off unless `args` or `env` choose a port, or `default_grpc` leaves it to
    the server's default (4317 when free)."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *extra_args: str,
        env: Mapping[str, str] | None = None,
        default_grpc: bool = False,
    ) -> None:
        assert TRACEWIRE.exists(), "install the package first: make .venv/.installed-dev"
        self.database_url = database_url
        self.workdir = workdir
        self.port = free_port()
        self.extra_args = extra_args
        self.extra_env = dict(env or {})  # settings without a CLI flag (TRACEWIRE_...)
        self.default_grpc = default_grpc
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False
        self.killed = False  # the last stop had to SIGKILL

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def log(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self) -> str:
        """The end of the server's output, for a failure message."""
        lines = self.output().splitlines()[-_TAIL_LINES:]
        return "\n".join([f"--- last {len(lines)} lines of {self.log} ---", *lines])

    async def start(self) -> None:
        for _ in range(_PORT_ATTEMPTS):
            self._spawn()
            try:
                healthy = await self._wait_healthy()
            except BaseException:
                self._kill()  # a hung start must not outlive the test
                raise
            if healthy:
                self.started_once = True
                return
            # Another process took the port since free_port(): only a first start may move.
            assert not self.started_once, f"port {self.port} taken at restart\n{self.log_tail()}"
            self.port = free_port()
        raise AssertionError(f"no free port in {_PORT_ATTEMPTS} tries\n{self.log_tail()}")

    def _spawn(self) -> None:
        env = {
            name: value
            for name, value in os.environ.items()
            if name != "DATABASE_URL" and not name.startswith("TRACEWIRE_")
        }
        env["TRACEWIRE_DATA_DIR"] = str(self.workdir / "data")
        env["PYTHONUNBUFFERED"] = "1"
        if not self.default_grpc:
            env["TRACEWIRE_GRPC_PORT"] = "off"  # `--grpc-port` or the test's env still win
        env.update(self.extra_env)
        args = [str(TRACEWIRE), "serve", "--port", str(self.port)]
        args += ["--database-url", self.database_url, *self.extra_args]
        with self.log.open("ab") as sink:
            # A plain Popen: `poll()` says at once whether it still runs, from any loop.
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env
            )

    async def _wait_healthy(self) -> bool:
        """True once /healthz answers; False when the server exited because its port was
        taken; an AssertionError with the log's tail for any other exit or a hang."""
        process = self.process
        assert process is not None
        port_taken = f"cannot listen on 127.0.0.1:{self.port}"
        async with httpx.AsyncClient() as client:

            async def up_or_exited() -> str | None:
                if process.poll() is not None:
                    return "port taken" if port_taken in self.output() else "exited"
                try:
                    response = await client.get(f"{self.http_url}/healthz", timeout=5)
                except httpx.TransportError:
                    return None
                return "up" if response.status_code == 200 else None

            outcome = await wait_until(
                up_or_exited,
                within=STARTUP_TIMEOUT,
                every=0.1,
                what=lambda: f"server on {self.http_url} not healthy\n{self.log_tail()}",
            )
        assert outcome != "exited", (
            f"server exited at start ({process.returncode})\n{self.log_tail()}"
        )
        return outcome == "up"

    async def stop(self) -> int:
        """SIGTERM, then SIGKILL if the server is still running `STOP_TIMEOUT` s later;
        its exit code (negative: killed by that signal)."""
        process, self.process = self.process, None
        self.killed = False
        if process is None:
            return 0
        if process.poll() is not None:
            return process.returncode
        process.send_signal(signal.SIGTERM)
        if not await _exited_within(process, STOP_TIMEOUT):
            self.killed = True
            process.kill()
            process.wait()
        return process.returncode

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


async def _exited_within(process: "subprocess.Popen[bytes]", seconds: float) -> bool:
    try:
        await wait_until(lambda: process.poll() is not None, within=seconds, every=0.1)
    except AssertionError:
        return False
    return True


@asynccontextmanager
async def serving(
    database_url: str,
    workdir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    default_grpc: bool = False,
) -> AsyncIterator[ServerProcess]:
    """A started server, stopped on exit, which must exit cleanly."""
    server = ServerProcess(database_url, workdir, *args, env=env, default_grpc=default_grpc)
    await server.start()
    try:
        yield server
    except BaseException:
        await server.stop()  # the test's own failure is the one to report
        raise
    code = await server.stop()
    stopped = f"exit code {code}"
    if server.killed:
        stopped = f"killed: still running {STOP_TIMEOUT:g} s after SIGTERM"
    assert code == 0, f"the server did not stop cleanly ({stopped})\n{server.log_tail()}"
