"""The embedded PostgreSQL on a loopback TCP port, for agents in other processes.

The embedded server listens on a Unix socket only (the wheel starts it so), which an agent
in another virtualenv or a container cannot always reach, and which no `postgresql://host:
port` URL names. `LoopbackPort` forwards a TCP port on 127.0.0.1 to that socket, byte for
byte, on a thread of its own: the recorder's direct sink then records into the demo with a
plain URL. It binds loopback only: the embedded server trusts every local connection.
"""

import asyncio
import contextlib
import logging
import socket
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024


class LoopbackPort:
    """Forwards `127.0.0.1:port` to the Unix socket at `socket_path` until `close()`.

    `port` 0 takes a free port; `start()` returns the one bound, or raises OSError when the
    port is taken."""

    def __init__(self, socket_path: Path, port: int, host: str = "127.0.0.1") -> None:
        self._socket_path = socket_path
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def start(self) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        port: int = sock.getsockname()[1]
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=loop.run_forever, name="tracewire-db-loopback", daemon=True
        )
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, sock=sock), loop
        ).result()
        return port

    def close(self) -> None:
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or server is None or thread is None:
            return
        self._server = None

        async def stop() -> None:
            server.close()
            # Connections still open (a recorder's) end with the forwarding; the recorder
            # reconnects, or spools, as for any database restart.
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self._connections.discard(task)

    async def _forward(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        try:
            server_r, server_w = await asyncio.open_unix_connection(str(self._socket_path))
        except OSError as exc:
            logger.warning("embedded PostgreSQL unreachable at %s: %s", self._socket_path, exc)
            await _close(client_w)
            return
        try:
            # Either side closing ends both: Postgres's protocol has no half-close.
            pipes = [
                asyncio.ensure_future(_pipe(client_r, server_w)),
                asyncio.ensure_future(_pipe(server_r, client_w)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            await _close(client_w)
            await _close(server_w)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
