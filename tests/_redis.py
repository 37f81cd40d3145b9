"""A private Redis server on a free loopback port, for tests that read what crosses Redis
pub/sub: channels are global to a Redis server, so the shared one carries other test
sessions' wake-ups, and some tests kill every pub/sub client it has."""

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests._poll import wait_until
from tests._server import free_port

STARTUP_TIMEOUT = 30.0  # far above its idle start, for a loaded machine


@asynccontextmanager
async def private_redis(port: int | None = None) -> AsyncIterator[str]:
    """The URL of a fresh Redis (no persistence) on `port` (by default a free one), stopped
    on exit."""
    binary = shutil.which("redis-server")
    assert binary is not None, "these tests need redis-server on PATH (apt-get install redis)"
    port = port or free_port()
    process = await asyncio.create_subprocess_exec(
        binary,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        await _wait_ready(url, process)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _wait_ready(url: str, process: asyncio.subprocess.Process) -> None:
    client = aioredis.Redis.from_url(url)

    async def answers() -> bool:
        assert process.returncode is None, "redis-server exited at startup"
        try:
            return bool(await client.ping())
        except (RedisConnectionError, OSError):
            return False

    try:
        await wait_until(answers, within=STARTUP_TIMEOUT, every=0.02, what=f"redis-server on {url}")
    finally:
        await client.aclose()
