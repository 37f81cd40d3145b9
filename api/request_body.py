"""Reading a request's body: capped while it streams, decompressed with a cap too (a small
gzip body can inflate to gigabytes), and parsed as JSON with a bound on its nesting (the
standard library's parser raises RecursionError, a 500, on a few thousand brackets)."""

import zlib
from typing import Any

import orjson
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
        raise BodyError(413, f"the request body exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, f"the request body exceeds the limit of {limit} bytes")
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
        rest = inflater.unused_data
        if rest and encoding == "deflate":
            raise BodyError(400, "deflate body has data after its end")
    return b"".join(parts)


def parse_json(raw: bytes) -> Any:
    """`raw` as JSON, or `BodyError` 400. orjson refuses nesting past 1024 levels with an
    error, where `json.loads` runs out of stack."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BodyError(400, f"malformed JSON body: {error}") from None


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (gzip allowed), at most `limit` bytes either way."""
    body = await read_capped(request, limit)
    return parse_json(decompress(body, request.headers.get("content-encoding"), limit))
