"""A TCP proxy in front of Postgres that lets a transaction commit and then cuts the
connection before the client sees the acknowledgement: the real "lost commit ack"."""

import asyncio
import contextlib
import struct
from pathlib import Path

from sqlalchemy.engine import make_url

from tracewire.db.engine import driver_dsn

_COMMIT_DONE = b"COMMIT\x00"


class AckDroppingProxy:
    """Drops the acknowledgement of the first `drops` COMMITs that pass through it."""

    def __init__(self, upstream_url: str, drops: int) -> None:
        self._upstream = make_url(driver_dsn(upstream_url))
        self.drops_left = drops
        self.dropped = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on a loopback port; returns the URL to connect through it."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        url = self._upstream.set(host="127.0.0.1", port=port, query={"sslmode": "disable"})
        return url.render_as_string(hide_password=False)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        socket_dir = self._upstream.query.get("host")
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            port = self._upstream.port or 5432
            return await asyncio.open_unix_connection(str(Path(socket_dir) / f".s.PGSQL.{port}"))
        return await asyncio.open_connection(self._upstream.host, self._upstream.port or 5432)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await self._open_upstream()
        to_server = asyncio.create_task(_pipe(client_r, server_w))
        try:
            await self._from_server(server_r, client_w)
        finally:
            to_server.cancel()
            for writer in (client_w, server_w):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _from_server(
        self, server: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        # Past startup every server message is framed: type byte, int32 length, payload.
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await server.readexactly(5)
                length = struct.unpack("!I", header[1:])[0]
                body = await server.readexactly(length - 4)
                if header[:1] == b"C" and body == _COMMIT_DONE and self.drops_left > 0:
                    self.drops_left -= 1
                    self.dropped += 1
                    return  # committed on the server; the client never hears of it
                client.write(header + body)
                await client.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
