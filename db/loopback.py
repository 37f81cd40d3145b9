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
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tracewire-db-loopback", daemon=True
        )

    def start(self) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._server = self._loop.run_until_complete(asyncio.start_server(self._forward, sock=sock))
        self._thread.start()
        port: int = sock.getsockname()[1]
        return port

    def close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None

        async def stop() -> None:
            server.close()
            # Connections still open (a recorder's) end with the forwarding; the recorder
            # reconnects, or spools, as for any database restart.
            for writer in list(self._open):
                writer.close()
            await server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _forward(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        try:
            server_r, server_w = await asyncio.open_unix_connection(str(self._socket_path))
        except OSError as exc:
            logger.warning("embedded PostgreSQL unreachable at %s: %s", self._socket_path, exc)
            client_w.close()
            return
        self._open.update((client_w, server_w))
        try:
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            self._open.difference_update((client_w, server_w))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        # Either side closing ends the other: Postgres's protocol has no half-close.
        with contextlib.suppress(Exception):
            writer.close()
