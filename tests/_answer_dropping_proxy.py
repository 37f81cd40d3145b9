"""A TCP proxy in front of a server that forwards requests and then cuts the connection
instead of passing on the first answers: the real "lost HTTP response" (the server did
the work; the client never hears of it)."""

import asyncio
import contextlib


class AnswerDroppingProxy:
    """Drops the first `drops` successful answers (`HTTP/1.1 2xx`) that pass through it."""

    def __init__(self, upstream_port: int, drops: int) -> None:
        self._upstream_port = upstream_port
        self.drops_left = drops
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a loopback port; returns the URL to send through it."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for handler in list(self._handlers):
                handler.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._proxy(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError:
            writer.close()
            return
        forward = asyncio.create_task(_pipe(reader, up_writer))
        try:
            while chunk := await up_reader.read(65536):
                if self.drops_left and chunk.startswith(b"HTTP/1.1 2"):
                    self.drops_left -= 1
                    self.dropped += 1
                    break  # the answer goes nowhere: cut both sides
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            forward.cancel()
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()
            with contextlib.suppress(asyncio.CancelledError):
                await forward


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
