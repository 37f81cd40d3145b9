"""Sends recorder batches to a Tracewire server's native ingest endpoint (`POST
/v1/ingest`), authenticated by an API key: the agent holds no database password.

Runs in the writer thread, like the Postgres sink: one keep-alive connection (the stdlib's
`http.client`, so the recorder needs no HTTP package), one request per batch, answered
only once the batch is committed. The server skips a batch id it already stored, so the
writer's retry of a batch whose answer was lost stores it once.

The body is the batch as JSON (orjson), gzip-compressed: `{"id", "records", "health"}`,
each record the list of its wire fields (see `_records`).
"""

import gzip
import hashlib
import http.client
import logging
import ssl
from urllib.parse import urlsplit

import orjson

from tracewire.recorder._records import Batch
from tracewire.recorder.sink import BatchRefused, RetryLater
from tracewire.storage.server_answers import error_message, retry_after

logger = logging.getLogger("tracewire.recorder")

INGEST_PATH = "/v1/ingest"
HEARTBEAT_PATH = "/v1/ingest/heartbeat"
MEDIA_TYPE = "application/vnd.tracewire.batch+json"
_CONNECT_TIMEOUT_S = 5.0
# Bounds a request to a hung server (the server itself gives up on a batch sooner), so
# close() and the spool can still happen.
_REQUEST_TIMEOUT_S = 60.0
# Level 1: most of the size saving at a fraction of the cost (JSON of wire records
# shrinks 5-8x); the writer thread's time is what bounds throughput.
_GZIP_LEVEL = 1
# Below the server's limit on a request body (64 MiB once decompressed), so that a large
# batch is split rather than refused.
MAX_BODY_BYTES = 32 * 1024 * 1024
_DEFAULT_RETRY_AFTER_S = 1.0


class HttpSink:
    def __init__(self, server_url: str, api_key: str) -> None:
        parts = urlsplit(server_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self.destination = server_url
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": MEDIA_TYPE,
            "Content-Encoding": "gzip",
            "Accept": "application/json",
            "User-Agent": "tracewire-recorder",
        }
        self._conn: http.client.HTTPConnection | None = None

    def write(self, batch: Batch) -> None:
        for body in _bodies(batch):
            self._post(INGEST_PATH, body)

    def heartbeat(self, run_ids: list[str]) -> None:
        self._post(HEARTBEAT_PATH, gzip.compress(orjson.dumps({"runs": run_ids}), _GZIP_LEVEL))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _exchange(self, path: str, body: bytes) -> tuple[http.client.HTTPResponse, bytes]:
        try:
            conn = self._connection()
            conn.request("POST", self._base + path, body, self._headers)
            response = conn.getresponse()
            answer = response.read()
            if response.will_close:
                self.close()
        except BaseException:
            # Half a request or an unread answer: start on a new connection next time.
            self.close()
            raise
        return response, answer

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host,
                    self._port,
                    timeout=_CONNECT_TIMEOUT_S,
                    context=ssl.create_default_context(),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=_CONNECT_TIMEOUT_S
                )
            self._conn.connect()
            assert self._conn.sock is not None
            self._conn.sock.settimeout(_REQUEST_TIMEOUT_S)
        return self._conn

    def _post(self, path: str, body: bytes) -> None:
        reused = self._conn is not None
        try:
            response, answer = self._exchange(path, body)
        except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
            self.close()
            if not reused:
                raise
            # A kept-alive connection the server closed meanwhile (it restarted, or timed
            # the connection out): once more on a new one. Safe: a batch is idempotent.
            response, answer = self._exchange(path, body)
        status = response.status
        if status < 300:
            return
        message = error_message(answer) or response.reason
        if status in (408, 409, 425, 429, 500, 502, 503, 504):
            # The server is busy or catching up (409: a run another process opens has
            # not been committed yet): the same batch again, after the pause it asks for.
            pause = retry_after(response.getheader("Retry-After"))
            raise RetryLater(
                f"{status} {message}", _DEFAULT_RETRY_AFTER_S if pause is None else pause
            )
        if status in (401, 403):
            # Kept (retried, then spooled) rather than dropped: a key fixed or restored
            # on the server lets it through.
            raise PermissionError(f"{status} {message}")
        raise BatchRefused(f"{status} {message}")


def _bodies(batch: Batch) -> list[bytes]:
    """The batch as one gzip body, or as several (each its own batch, ids derived from the
    batch's, in order) when its JSON would exceed `MAX_BODY_BYTES`."""
    document = {"id": batch.id, "records": batch.records, "health": batch.health}
    encoded = orjson.dumps(document, default=tuple)
    if len(encoded) <= MAX_BODY_BYTES or len(batch.records) < 2:
        return [gzip.compress(encoded, _GZIP_LEVEL)]
    half = len(batch.records) // 2
    first = Batch(_derived(batch.id, 0), batch.records[:half], batch.health)
    second = Batch(_derived(batch.id, 1), batch.records[half:], batch.health)
    return _bodies(first) + _bodies(second)


def _derived(batch_id: str, index: int) -> str:
    # A batch split the same way every time (it is the same batch on every retry) names
    # its parts the same way every time: a retried part is skipped once stored.
    return hashlib.blake2b(f"{batch_id}/{index}".encode(), digest_size=16).hexdigest()
