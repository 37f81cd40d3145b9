"""A 200 MB artifact streams through the recorder without ever sitting in memory: the
upload runs in a child process whose peak RSS growth is measured (both stores)."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._artifacts import store_config
from tests._seaweedfs import SeaweedFS, running_seaweedfs

pytestmark = pytest.mark.slow

SIZE_MB = 200
# Parts of 8 MiB and chunks of 1 MiB in flight, plus the HTTP client's buffers: tens of MB.
MAX_GROWTH_MB = 80

CHILD = textwrap.dedent(
    """
    import hashlib, io, json, sys, time
    from pathlib import Path
    from tracewire.recorder import Recorder, RecorderSettings
    from tracewire.storage import S3Options

    BLOCK = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB, not all zeros

    class Generated(io.RawIOBase):
        # A seekable stream that makes its bytes as they are read: nothing is held.
        def __init__(self, size):
            self.size, self.position = size, 0
        def readable(self): return True
        def seekable(self): return True
        def tell(self): return self.position
        def seek(self, offset, whence=0):
            self.position = offset if whence == 0 else self.size + offset
            return self.position
        def readinto(self, buffer):
            n = min(len(buffer), self.size - self.position)
            start = self.position % len(BLOCK)
            data = (BLOCK[start:] + BLOCK)[:n]
            buffer[:n] = data
            self.position += n
            return n

    def status_mb(field):
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith(field + ":"))
        return int(line.split()[1]) / 1024

    def reset_peak():
        # Linux: "5" resets the peak RSS (VmHWM) to the current RSS.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    args = json.loads(sys.argv[1])
    s3 = S3Options(**args["s3"]) if args["s3"] else S3Options()
    rec = Recorder(args["database_url"], org="memory", settings=RecorderSettings(
        artifact_store=args["store"], s3=s3, spool_dir=Path(args["spool"])))
    with rec.run("bot") as run:
        run.artifact(b"warm-up", name="warm.txt")  # the client, the loop, the imports
        assert rec.flush(60)
        reset_peak()
        before = status_mb("VmRSS")
        size = args["size_mb"] * 2**20
        started = time.perf_counter()
        artifact_id = run.artifact(io.BufferedReader(Generated(size)), name="big.bin")
        assert rec.flush(600)
        seconds = time.perf_counter() - started
    rec.close()
    peak = status_mb("VmHWM")
    print(json.dumps({"artifact_id": str(artifact_id), "growth_mb": peak - before,
                      "seconds": seconds, "mb_per_s": args["size_mb"] / seconds}))
    """
)


@pytest.fixture(scope="module")
def seaweedfs() -> Iterator[SeaweedFS]:
    with running_seaweedfs() as server:
        yield server


@pytest.mark.parametrize("kind", ["local", "s3"])
async def test_a_200_mb_stream_uploads_with_bounded_memory(
    kind: str,
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    server = request.getfixturevalue("seaweedfs") if kind == "s3" else None
    config = await store_config(kind, tmp_path, server)
    s3 = config.s3
    args = {
        "database_url": database_url,
        "store": config.url,
        "s3": None
        if kind == "local"
        else {
            "endpoint_url": s3.endpoint_url,
            "region": s3.region,
            "access_key_id": s3.access_key_id,
            "secret_access_key": s3.secret_access_key,
        },
        "spool": str(tmp_path / "spool"),
        "size_mb": SIZE_MB,
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        json.dumps(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    out, err = await asyncio.wait_for(child.communicate(), 600)
    assert child.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    print(
        f"\n{kind}: {SIZE_MB} MB, peak RSS growth {result['growth_mb']:.1f} MB, "
        f"{result['mb_per_s']:.0f} MB/s"
    )
    assert result["growth_mb"] < MAX_GROWTH_MB

    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT size_bytes, name FROM artifacts WHERE id = :id"),
                {"id": result["artifact_id"]},
            )
        ).one()
    assert (row.size_bytes, row.name) == (SIZE_MB * 2**20, "big.bin")
