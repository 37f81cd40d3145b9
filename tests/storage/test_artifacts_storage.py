"""The object stores behind artifacts, the same tests on both: the local directory and a
real S3 server (SeaweedFS)."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests._poll import wait_until
from tests._seaweedfs import SeaweedFS, running_seaweedfs
from tracewire.storage import (
    Download,
    InvalidKey,
    LocalStore,
    ObjectMissing,
    ObjectStore,
    StoreConfig,
    StoreUnavailable,
    artifact_key,
    guess_mime,
    is_inline_safe,
    open_store,
    safe_name,
)
from tracewire.storage.s3 import PART_BYTES, S3Store

TEXT = Download("text/plain; charset=utf-8", "notes.txt", attachment=False)


@pytest.fixture(scope="module")
def seaweedfs() -> Iterator[SeaweedFS]:
    with running_seaweedfs() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        made: ObjectStore = LocalStore(tmp_path / "artifacts")
    else:
        server: SeaweedFS = request.getfixturevalue("seaweedfs")
        s3 = S3Store(server.store_config(bucket="storage-tests", prefix="some/prefix"))
        await s3.ensure_bucket()
        made = s3
    try:
        yield made
    finally:
        await made.close()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(
    store: ObjectStore, key: str, offset: int = 0, length: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in await store.read(key, offset, length)])


def new_key(name: str = "notes.txt") -> str:
    return artifact_key("acme", uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), name)


async def test_an_object_put_in_chunks_reads_back_whole_and_by_range(store: ObjectStore) -> None:
    key = new_key()
    await store.put(key, chunks_of(b"hello ", b"wide ", b"world"), download=TEXT)

    assert await read_all(store, key) == b"hello wide world"
    assert await read_all(store, key, 6, 4) == b"wide"
    assert await read_all(store, key, 11) == b"world"
    assert await store.size(key) == 16


async def test_an_empty_object_is_stored(store: ObjectStore) -> None:
    key = new_key("empty.bin")
    await store.put(key, chunks_of(), download=TEXT)
    assert await store.size(key) == 0
    assert await read_all(store, key) == b""


async def test_an_object_larger_than_a_part_goes_up_in_parts_intact(store: ObjectStore) -> None:
    key = new_key("big.bin")
    pieces = [bytes([i]) * (3 * 1024 * 1024) for i in range(7)]  # 21 MiB: three S3 parts
    await store.put(key, chunks_of(*pieces), download=TEXT)

    assert await store.size(key) == 7 * 3 * 1024 * 1024 > 2 * PART_BYTES
    assert await read_all(store, key, PART_BYTES - 1, 2) == bytes([2, 2])
    assert await read_all(store, key) == b"".join(pieces)


async def test_a_missing_object_has_no_size_and_cannot_be_read(store: ObjectStore) -> None:
    key = new_key()
    assert await store.size(key) is None
    with pytest.raises(ObjectMissing):
        await store.read(key)


async def test_deleting_removes_the_object_and_tolerates_a_missing_one(store: ObjectStore) -> None:
    key = new_key()
    await store.put(key, chunks_of(b"x"), download=TEXT)
    await store.delete(key)
    await store.delete(key)
    assert await store.size(key) is None


async def test_a_failing_source_leaves_no_object_behind(store: ObjectStore) -> None:
    key = new_key("broken.bin")

    async def failing() -> AsyncIterator[bytes]:
        yield b"a" * (PART_BYTES + 1)
        raise OSError("the agent's file vanished")

    with pytest.raises(OSError, match="vanished"):
        await store.put(key, failing(), download=TEXT)
    assert await store.size(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "../outside.txt",
        "a/../../etc/passwd",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a\\..\\b",
        "a\x00b",
        "",
    ],
)
async def test_keys_that_could_escape_the_store_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        await store.put(key, chunks_of(b"x"), download=TEXT)
    with pytest.raises(InvalidKey):
        await store.read(key)
    with pytest.raises(InvalidKey):
        await store.size(key)


def test_the_local_store_refuses_a_key_that_leaves_through_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "org").mkdir(parents=True)
    (root / "org" / "link").symlink_to(tmp_path)
    with pytest.raises(InvalidKey):
        LocalStore(root).path_of("org/link/secret.txt")


def test_generated_keys_keep_only_a_clean_file_name() -> None:
    run, step, artifact = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    key = artifact_key("../acme", run, step, artifact, "../../etc/pass wd.txt")
    assert key == f"acme/{run.hex}/{step.hex}/{artifact.hex}-pass_wd.txt"
    assert artifact_key("acme", run, None, artifact, "").endswith(f"/run/{artifact.hex}-file")
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name("résumé.pdf") == "resume.pdf"
    assert len(safe_name("x" * 500 + ".png")) == 120
    assert safe_name("x" * 500 + ".png").endswith(".png")


async def test_the_s3_store_offers_presigned_urls_that_expire(seaweedfs: SeaweedFS) -> None:
    store = S3Store(seaweedfs.store_config(bucket="storage-tests"))
    await store.ensure_bucket()
    key = new_key("page.html")
    page = Download("text/html; charset=utf-8", "page.html", attachment=True)
    try:
        await store.put(key, chunks_of(b"<script>alert(1)</script>"), download=page)
        # Long enough for the first fetch on a loaded machine, short enough to wait out.
        url = await store.url(key, expires_in=5, download=page)
        assert url is not None
        async with httpx.AsyncClient() as client:
            fresh = await client.get(url, headers={"Range": "bytes=0-7"})
            assert fresh.status_code == 206
            assert fresh.content == b"<script>"
            assert fresh.headers["content-disposition"] == 'attachment; filename="page.html"'

            async def refused() -> bool:
                return (await client.get(url)).status_code == 403

            await wait_until(refused, every=0.5, what="the expired URL refused (403)")
    finally:
        await store.close()


async def test_an_unreachable_s3_server_is_reported_as_unavailable() -> None:
    from tests._server import free_port

    config = StoreConfig("s3://nowhere/", SeaweedFS.options_for(f"http://127.0.0.1:{free_port()}"))
    store = open_store(config)
    try:
        with pytest.raises(StoreUnavailable):
            await store.put(new_key(), chunks_of(b"x"), download=TEXT)
    finally:
        await store.close()


def test_media_types_are_guessed_and_only_harmless_ones_show_inline() -> None:
    assert guess_mime("chart.png") == "image/png"
    assert guess_mime(None, b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert guess_mime(None, "plain words, ünïcode".encode()) == "text/plain"
    assert guess_mime(None, b"\x00\x01\xff\xfe") == "application/octet-stream"
    assert guess_mime("unknown.zzz-not-a-type") == "application/octet-stream"
    for harmless in ("image/png", "video/mp4", "text/plain; charset=utf-8", "application/json"):
        assert is_inline_safe(harmless)
    for dangerous in (
        "text/html",
        "image/svg+xml",
        "application/javascript",
        "text/javascript",
        "application/xhtml+xml",
        "text/xml",
        "application/octet-stream",
        "TEXT/HTML; charset=utf-8",
    ):
        assert not is_inline_safe(dangerous)
