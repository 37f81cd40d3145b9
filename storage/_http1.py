"""Just enough HTTP/1.1 for `ServerStore`, on asyncio streams: one keep-alive connection,
a request whose body is sent chunked as it is produced, and a small response.

The recorder's base install has no HTTP client library, and a PUT of a streamed body is
all it needs of one.
"""

import asyncio
import select
import ssl
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024  # answers are small JSON; anything bigger is not ours
_END = b"0\r\n\r\n"


class ProtocolError(Exception):
    """The peer's answer is not HTTP/1.1 as this client reads it."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names; repeated ones joined by ", "
    body: bytes
    will_close: bool


class Connection:
    """One connection to one server, for one request at a time, from one event loop."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, io_timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._io_timeout = io_timeout  # bounds each wait: a write to drain, an answer
        # The request and response streams are out of step (an answer came before the whole
        # body was sent, or a send failed): the connection cannot carry another request.
        self.broken = False

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        *,
        connect_timeout: float,
        io_timeout: float,
    ) -> "Connection":
        async with asyncio.timeout(connect_timeout):
            reader, writer = await asyncio.open_connection(
                host,
                port,
                ssl=tls,
                server_hostname=host if tls is not None else None,
                limit=MAX_HEAD_BYTES,
            )
        return cls(reader, writer, io_timeout)

    def reusable(self) -> bool:
        """Open and quiet. An idle connection that has something to read was closed by the
        server (or carries garbage): sending on it would fail halfway (as urllib3 checks)."""
        if self.broken or self._writer.is_closing() or self._reader.at_eof():
            return False
        sock = self._writer.get_extra_info("socket")
        if sock is None:
            return False
        readable, _, _ = select.select([sock], [], [], 0)
        return not readable

    async def request(self, head: bytes, body: AsyncIterable[bytes]) -> Response:
        """Send `head` (the request line and headers, ending in an empty line), then `body`
        with chunked transfer coding, and return the answer. An answer that comes before
        the body is all sent stops the sending (a refusal: nothing more is read). Errors of
        `body` itself pass through untranslated."""
        answer = asyncio.ensure_future(self._read_response())
        try:
            await self._send(head, body, answer)
        except OSError:
            # The server may have answered and closed while we were still sending.
            self.broken = True
            await asyncio.wait([answer], timeout=min(self._io_timeout, 1.0))
            if not answer.done() or answer.exception() is not None:
                _discard(answer)
                raise
        except BaseException:
            self.broken = True
            _discard(answer)
            raise
        try:
            async with asyncio.timeout(self._io_timeout):
                return await answer
        except BaseException:
            self.broken = True
            raise

    def close(self) -> None:
        self.broken = True
        self._writer.close()

    async def wait_closed(self) -> None:
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except (OSError, TimeoutError):
            pass  # closed badly is still closed

    async def _send(
        self,
        head: bytes,
        body: AsyncIterable[bytes],
        answer: "asyncio.Future[Response]",
    ) -> None:
        writer = self._writer
        writer.write(head)
        source = aiter(body)
        while not answer.done():
            chunk = await anext(source, None)
            if chunk is None:
                writer.write(_END)
                await self._drain()
                return
            if chunk:  # an empty chunk would end the body
                writer.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
                await self._drain()
        self.broken = True  # answered early: the rest of the body is never sent

    async def _drain(self) -> None:
        async with asyncio.timeout(self._io_timeout):
            await self._writer.drain()

    async def _read_response(self) -> Response:
        reader = self._reader
        try:
            while True:
                version, status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
                if not 100 <= status < 200:
                    break  # 1xx answers are interim: the final one follows
            tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
            will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
            coding = headers.get("transfer-encoding")
            if coding is not None:
                if coding.rsplit(",", 1)[-1].strip().lower() != "chunked":
                    raise ProtocolError(f"unsupported transfer coding {coding!r}")
                body = await self._read_chunked()
            elif "content-length" in headers:
                length = _int(headers["content-length"], 10)
                if length > MAX_BODY_BYTES:
                    raise ProtocolError(f"an answer of {length} bytes is not ours")
                body = await reader.readexactly(length)
            elif status in (204, 304):
                body = b""
            else:  # delimited by the end of the connection
                body = await self._read_to_end()
                will_close = True
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError("the answer's head is too long") from exc
        return Response(status, headers, body, will_close)

    async def _read_to_end(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while part := await self._reader.read(MAX_HEAD_BYTES):
            size += len(part)
            if size > MAX_BODY_BYTES:
                raise ProtocolError(f"an answer of over {MAX_BODY_BYTES} bytes is not ours")
            parts.append(part)
        return b"".join(parts)

    async def _read_chunked(self) -> bytes:
        reader = self._reader
        parts: list[bytes] = []
        size = 0
        while True:
            length = _int(
                (await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip().decode("latin-1"), 16
            )
            if length == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailer fields: none are of interest
                return b"".join(parts)
            size += length
            if size > MAX_BODY_BYTES:
                raise ProtocolError(f"an answer of over {MAX_BODY_BYTES} bytes is not ours")
            parts.append(await reader.readexactly(length))
            if await reader.readexactly(2) != b"\r\n":
                raise ProtocolError("a chunk does not end in CRLF")


def _discard(answer: "asyncio.Future[Response]") -> None:
    """Cancel an answer no longer awaited, or take its error (so none is logged unread)."""
    if not answer.done():
        answer.cancel()
    elif not answer.cancelled():
        answer.exception()


def _parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    status = _int(rest[:3], 10)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return version, status, headers


def _int(text: str, base: int) -> int:
    try:
        value = int(text, base)
    except ValueError:
        raise ProtocolError(f"not a number: {text[:40]!r}") from None
    if value < 0:
        raise ProtocolError(f"a negative number: {text!r}")
    return value
