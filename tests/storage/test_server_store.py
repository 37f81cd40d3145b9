"""`ServerStore` against a real server process: objects stream through it into the server's
store under the API key's organization, over one kept-alive connection, in bounded memory;
a server that is down, busy or refusing the key is an outage the uploader retries; an object
over the server's cap is refused for good, and stops being sent once the server says so."""

import asyncio
import contextlib
import hashlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._poll import wait_until
from tests._server import ServerProcess, free_port, serving
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import session_factory
from tracewire.db.models import Organization
from tracewire.storage import (
    Download,
    InvalidKey,
    ObjectRefused,
    StoreConfig,
    StoreUnavailable,
    artifact_key,
    open_store,
    open_writer,
    with_org,
)
from tracewire.storage.server import ServerStore

CAP = 64 * 2**20
BLOCK = hashlib.sha256(b"server store").digest() * 2**15  # 1 MiB, not all one byte
BINARY = Download("application/octet-stream", "data.bin", attachment=True)


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("server-store")
    env = {"TRACEWIRE_ARTIFACT_MAX_UPLOAD_BYTES": str(CAP)}
    async with serving(database_url, workdir, env=env) as started:
        yield started


@pytest.fixture
async def owner(engine: AsyncEngine) -> IssuedKey:
    return await new_org_key(engine)


@pytest.fixture
async def store(server: ServerProcess, owner: IssuedKey) -> AsyncIterator[ServerStore]:
    made = ServerStore(server.http_url, owner.secret)
    try:
        yield made
    finally:
        await made.close()


class CountingProxy:
    """A TCP proxy to the server that counts the connections made through it and can cut
    them all, as a server's keep-alive timeout does."""

    def __init__(self, port: int) -> None:
        self._port = port
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def cut(self) -> None:
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        self._writers.clear()

    async def stop(self) -> None:
        await self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self._port)
        self._writers += [client_w, server_w]
        pipes = [
            asyncio.create_task(_pipe(client_r, server_w)),
            asyncio.create_task(_pipe(server_r, client_w)),
        ]
        self._tasks.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for writer in (client_w, server_w):
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


def new_key(org: str = "recorder-org", name: str = "data.bin") -> str:
    return artifact_key(org, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), name)


async def slug_of(key: IssuedKey, engine: AsyncEngine) -> str:
    async with session_factory(engine)() as session:
        slug = await session.scalar(select(Organization.slug).where(Organization.id == key.org_id))
    assert slug is not None
    return slug


def stored(server: ServerProcess, key: str) -> Path:
    return server.workdir / "data" / "artifacts" / key


async def blocks(count: int, sent: list[int] | None = None) -> AsyncIterator[bytes]:
    for _ in range(count):
        if sent is not None:
            sent.append(len(BLOCK))
        yield BLOCK


async def test_a_put_stores_the_object_on_the_server_under_the_api_keys_organization(
    server: ServerProcess, store: ServerStore, owner: IssuedKey, engine: AsyncEngine
) -> None:
    key = new_key("whatever-the-recorder-says")

    await store.put(key, blocks(5), download=BINARY)

    on_server = stored(server, with_org(key, await slug_of(owner, engine)))
    assert on_server.read_bytes() == BLOCK * 5


async def test_an_empty_object_is_stored_empty(
    server: ServerProcess, store: ServerStore, owner: IssuedKey, engine: AsyncEngine
) -> None:
    key = new_key(name="empty.txt")

    await store.put(key, blocks(0), download=BINARY)

    assert stored(server, with_org(key, await slug_of(owner, engine))).read_bytes() == b""


async def test_puts_in_a_row_share_one_connection_and_survive_the_server_closing_it(
    server: ServerProcess, owner: IssuedKey, engine: AsyncEngine
) -> None:
    proxy = CountingProxy(server.port)
    store = ServerStore(await proxy.start(), owner.secret)
    slug = await slug_of(owner, engine)
    keys = [new_key() for _ in range(6)]
    try:
        for key in keys[:3]:
            await store.put(key, blocks(1), download=BINARY)
        assert proxy.connections == 1

        await proxy.cut()  # what a keep-alive timeout does between two uploads
        for key in keys[3:]:
            await store.put(key, blocks(1), download=BINARY)
        assert proxy.connections == 2
    finally:
        await store.close()
        await proxy.stop()
    assert all(stored(server, with_org(key, slug)).read_bytes() == BLOCK for key in keys)


async def test_a_server_that_is_down_is_a_store_outage() -> None:
    store = ServerStore(f"http://127.0.0.1:{free_port()}", "sk-tw-anything")
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await store.put(new_key(), blocks(1), download=BINARY)
    finally:
        await store.close()


async def test_a_refused_api_key_is_a_store_outage_that_says_so(server: ServerProcess) -> None:
    store = ServerStore(server.http_url, "sk-tw-not-a-real-key")
    try:
        with pytest.raises(StoreUnavailable, match="API key"):
            await store.put(new_key(), blocks(1), download=BINARY)
    finally:
        await store.close()


async def test_a_key_the_server_refuses_is_an_invalid_key(store: ServerStore) -> None:
    with pytest.raises(InvalidKey, match="not an artifact key"):
        await store.put("org/not/an/artifact-key", blocks(1), download=BINARY)


async def test_an_object_over_the_servers_cap_is_refused_for_good_and_stops_being_sent(
    server: ServerProcess, store: ServerStore, owner: IssuedKey, engine: AsyncEngine
) -> None:
    key = new_key()
    sent: list[int] = []
    total = 4 * CAP // len(BLOCK)

    with pytest.raises(ObjectRefused, match=str(CAP)):
        await store.put(key, blocks(total, sent), download=BINARY)

    assert len(sent) < total / 2  # the rest was never read, let alone sent
    assert not stored(server, with_org(key, await slug_of(owner, engine))).exists()
    await store.put(new_key(), blocks(1), download=BINARY)  # and the store goes on


async def test_an_error_of_the_callers_chunks_passes_through_and_nothing_is_stored(
    server: ServerProcess, store: ServerStore, owner: IssuedKey, engine: AsyncEngine
) -> None:
    key = new_key()
    org_dir = server.workdir / "data" / "artifacts" / await slug_of(owner, engine)

    async def failing() -> AsyncIterator[bytes]:
        yield BLOCK
        yield BLOCK
        raise ValueError("the file went away")

    with pytest.raises(ValueError, match="went away"):
        await store.put(key, failing(), download=BINARY)

    # The server sees a client that left mid-body and drops its temporary file.
    await wait_until(
        lambda: not org_dir.exists() or not any(p.is_file() for p in org_dir.rglob("*")),
        every=0.02,
        what=f"no file left under {org_dir}",
    )
    await store.put(new_key(), blocks(1), download=BINARY)


async def test_a_busy_servers_retry_after_is_honoured_by_failing_fast_until_it_passes() -> None:
    connections = 0

    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"error": "too many uploads at once"}'
        writer.write(
            # 3 s: the second put comes well within it, even on a loaded machine.
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(busy, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    store = ServerStore(f"http://127.0.0.1:{port}", "sk-tw-anything")
    try:
        with pytest.raises(StoreUnavailable, match="too many uploads"):
            await store.put(new_key(), blocks(1), download=BINARY)
        with pytest.raises(StoreUnavailable, match="asked to wait"):
            await store.put(new_key(), blocks(1), download=BINARY)
        assert connections == 1  # the second put did not even connect

        async def connected_again() -> bool:
            with pytest.raises(StoreUnavailable):
                await store.put(new_key(), blocks(1), download=BINARY)
            return connections > 1

        await wait_until(connected_again, what="a put that connects once Retry-After passed")
    finally:
        await store.close()
        listening.close()
        await listening.wait_closed()


async def test_a_50_mb_stream_goes_through_in_bounded_memory(
    server: ServerProcess, store: ServerStore, owner: IssuedKey, engine: AsyncEngine
) -> None:
    key = new_key(name="big.bin")
    await store.put(new_key(), blocks(1), download=BINARY)  # connected, imports done

    tracemalloc.start()
    try:
        await store.put(key, blocks(50), download=BINARY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB for a 50 MiB stream"
    on_server = stored(server, with_org(key, await slug_of(owner, engine)))
    assert on_server.stat().st_size == 50 * len(BLOCK)


def test_a_server_url_config_opens_a_server_store_which_only_writes() -> None:
    config = StoreConfig("https://tracewire.example:8443", api_key="sk-tw-secret")

    assert isinstance(open_writer(config), ServerStore)
    with pytest.raises(ValueError, match="does not serve them"):
        open_store(config)
    with pytest.raises(ValueError, match="API key"):
        StoreConfig("http://tracewire.example")
    assert "sk-tw-secret" not in repr(config)
