"""What the benchmark scripts share: a scratch database (on TEST_DATABASE_URL's server, else
on an embedded one started for the run) and a local HTTP sink for SDKs that export over
HTTP, so no benchmark touches the network."""

import asyncio
import os
import shutil
import statistics
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import create_database, drop_database
from tracewire.db import migrate
from tracewire.db.embedded import EmbeddedPostgres


@contextmanager
def scratch_database(prefix: str) -> Iterator[tuple[str, str]]:
    """(server URL, URL of a fresh migrated database), both gone afterwards."""
    server_url = os.environ.get("TEST_DATABASE_URL") or None
    embedded: EmbeddedPostgres | None = None
    data_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-pg-"))
    if server_url is None:
        embedded = EmbeddedPostgres(data_dir / "pgdata")
        server_url = embedded.start()
    url = asyncio.run(create_database(server_url, prefix))
    try:
        asyncio.run(migrate.upgrade(url))
        yield server_url, url
    finally:
        asyncio.run(drop_database(server_url, url))
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_PUT = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def local_http_sink() -> Iterator[str]:
    """An HTTP server on a loopback port that answers 200 `{}` to everything."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def summary(samples_ns: list[int]) -> dict[str, float]:
    """Median and p99 in microseconds."""
    ordered = sorted(samples_ns)
    return {
        "median_us": round(statistics.median(ordered) / 1000, 3),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] / 1000, 3),
    }
