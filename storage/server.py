"""Artifacts stored through a Tracewire server (`PUT /v1/artifacts/{key}`, served by
api/artifacts/upload.py), for a recorder that records over HTTP: the agent holds an API key,
never the store's credentials.

The server stores each object under the key with its first segment replaced by the API
key's organization (`storage.keys.with_org`), as it does with the keys in the records that
name them.
"""

import hashlib
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypedDict
from urllib.parse import quote, urlsplit

import orjson

from tracewire.storage._http1 import Connection, ProtocolError, Response
from tracewire.storage.base import Download
from tracewire.storage.errors import InvalidKey, ObjectRefused, StorageError, StoreUnavailable
from tracewire.storage.keys import check_key
from tracewire.storage.server_answers import error_message, retry_after

UPLOAD_PATH = "/v1/artifacts/"
_CONNECT_TIMEOUT_S = 10.0
# Each wait: a write to drain, or the answer once the body is sent (the server may still be
# writing the last part to S3 then).
_IO_TIMEOUT_S = 60.0
# A kept connection is reused only this soon after its last answer: well under uvicorn's
# 5 s keep-alive, so the server does not close it while a new body is on its way.
_REUSE_WITHIN_S = 2.0


class StoredObject(TypedDict):
    """The body of the server's answer to a stored upload."""

    storage_key: str
    size_bytes: int
    sha256: str


class ServerStore:
    """An `ObjectWriter` that PUTs each object to a Tracewire server, streaming it as chunks
    come, over one kept-alive connection; from one event loop (the uploader's).

    The server's answers become `storage.errors`: unreachable, 5xx, 429 and a refused API
    key are `StoreUnavailable` (the uploader retries, then parks the artifact; a
    Retry-After is honoured by failing fast until it passes); an object key the server
    refuses (400) is `InvalidKey`, an object over its cap `ObjectRefused`. An answer naming
    other bytes than those sent (size or SHA-256) is `StoreUnavailable` too."""

    def __init__(self, server_url: str, api_key: str, *, io_timeout: float = _IO_TIMEOUT_S) -> None:
        parts = urlsplit(server_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a server URL: {server_url!r}")
        if not api_key or not api_key.isprintable() or not api_key.isascii():
            raise ValueError("the API key must be printable ASCII")
        https = parts.scheme == "https"
        self.server_url = server_url
        self._host = parts.hostname
        self._port = parts.port or (443 if https else 80)
        self._tls = ssl.create_default_context() if https else None
        self._authority = parts.netloc.rpartition("@")[2]
        self._path = parts.path.rstrip("/") + UPLOAD_PATH
        self._authorization = f"Bearer {api_key}"
        self._io_timeout = io_timeout
        self._connection: Connection | None = None
        self._answered_at = 0.0
        self._not_before = 0.0  # from the server's last Retry-After

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, download: Download) -> None:
        check_key(key)
        wait = self._not_before - time.monotonic()
        if wait > 0:
            raise StoreUnavailable(f"the server asked to wait {wait:.1f} s more; {key} not sent")
        head = self._head(key, download.content_type)
        sent = _Sent(chunks)
        try:
            connection = await self._connected()
            response = await connection.request(head, sent.chunks())
        except _SourceFailed as exc:
            self._disconnect()
            assert exc.__cause__ is not None
            raise exc.__cause__ from None
        except (OSError, EOFError, ProtocolError) as exc:
            self._disconnect()
            raise StoreUnavailable(
                f"{self.server_url} unreachable for {key}: {type(exc).__name__}: {exc}"
            ) from exc
        if response.will_close or connection.broken:
            self._disconnect()
        else:
            self._answered_at = time.monotonic()
        self._check(key, response, sent)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            await connection.wait_closed()

    async def _connected(self) -> Connection:
        connection = self._connection
        if connection is not None:
            if time.monotonic() - self._answered_at < _REUSE_WITHIN_S and connection.reusable():
                return connection
            self._disconnect()
        connection = await Connection.open(
            self._host,
            self._port,
            self._tls,
            connect_timeout=_CONNECT_TIMEOUT_S,
            io_timeout=self._io_timeout,
        )
        self._connection = connection
        return connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _head(self, key: str, content_type: str) -> bytes:
        if not content_type.isprintable() or not content_type.isascii():
            raise ObjectRefused(f"content type {content_type!r} cannot be sent in a header")
        lines = (
            f"PUT {self._path}{quote(key, safe='/')} HTTP/1.1",
            f"Host: {self._authority}",
            f"Authorization: {self._authorization}",
            f"Content-Type: {content_type}",
            "Transfer-Encoding: chunked",
            "Accept: application/json",
            "User-Agent: tracewire-recorder",
        )
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    def _check(self, key: str, response: Response, sent: "_Sent") -> None:
        status = response.status
        if status in (200, 201):
            stored = _stored(response)
            if stored is None:
                raise StoreUnavailable(f"unreadable answer from {self.server_url} for {key}")
            if (stored["size_bytes"], stored["sha256"]) != (sent.size, sent.sha256.hexdigest()):
                raise StoreUnavailable(
                    f"{self.server_url} stored {stored['size_bytes']} bytes for {key}, "
                    f"not the {sent.size} sent"
                )
            return
        message = f"{self.server_url} answered {status}: {_message(response)}"
        if status == 400:
            raise InvalidKey(message)
        if status == 413:
            raise ObjectRefused(message)
        if status in (401, 403):
            raise StoreUnavailable(f"the API key was refused: {message}")
        if status == 429 or status >= 500:
            delay = retry_after(response.headers.get("retry-after"))
            if delay is not None:
                self._not_before = time.monotonic() + delay
            raise StoreUnavailable(message)
        raise StorageError(message)


class _SourceFailed(Exception):
    """Carries an error of the caller's chunks past the translation of ours (as its cause)."""


class _Sent:
    """The caller's chunks as sent: counted and hashed, to check the server's answer."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self.sha256 = hashlib.sha256()

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                self.size += len(chunk)
                self.sha256.update(chunk)
                yield chunk
        except Exception as exc:
            raise _SourceFailed from exc


def _stored(response: Response) -> StoredObject | None:
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    if not (
        isinstance(body, dict)
        and isinstance(body.get("storage_key"), str)
        and isinstance(body.get("size_bytes"), int)
        and isinstance(body.get("sha256"), str)
    ):
        return None
    return StoredObject(
        storage_key=body["storage_key"], size_bytes=body["size_bytes"], sha256=body["sha256"]
    )


def _message(response: Response) -> str:
    """The server's own words: the `error` of its JSON body, else the start of the body."""
    found = error_message(response.body)
    return found or response.body[:200].decode("utf-8", "replace").strip() or "(no message)"
