"""Reading an ingestion request's body: capped while it streams, and decompressed with a
cap too (a small gzip body can inflate to gigabytes)."""

import zlib

from starlette.requests import ClientDisconnect, Request


class BodyError(Exception):
    """A request refused as a whole, with its HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, f"body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BodyError(400, "client disconnected before the body ended") from None
    return b"".join(chunks)


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its content encoding (identity, gzip, deflate), refused (413)
    past `limit` bytes. Every member of a multi-member gzip body is read (a streaming
    inflater stops at the end of the first)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "deflate"):
        raise BodyError(415, f"unsupported content encoding {encoding!r}: use gzip")
    wbits = zlib.MAX_WBITS | (16 if encoding == "gzip" else 0)
    parts: list[bytes] = []
    size = 0
    rest = body
    while rest:
        inflater = zlib.decompressobj(wbits)
        try:
            part = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as error:
            raise BodyError(400, f"body is not valid {encoding}: {error}") from None
        size += len(part)
        if size > limit or inflater.unconsumed_tail:
            raise BodyError(413, f"decompressed body exceeds {limit} bytes")
        if not inflater.eof:
            raise BodyError(400, f"{encoding} body ends early")
        parts.append(part)
        rest = inflater.unused_data if encoding == "gzip" else b""
    return b"".join(parts)
