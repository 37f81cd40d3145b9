"""`PUT /v1/artifacts/{key}` on a real server process: a streamed body is stored whole, with
the size and SHA-256 it answers, always under the caller's own organization; a request
without a usable key, with a bad key, over the cap, or abandoned midway stores nothing and
never costs the server a traceback; a store that is down answers 503 with Retry-After."""

import asyncio
import hashlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import bearer, new_org_key
from tests._poll import wait_until
from tests._server import ServerProcess, free_port, serving
from tracewire.api.keys import IssuedKey, revoke_api_key
from tracewire.db.engine import session_factory
from tracewire.db.models import Organization
from tracewire.storage import artifact_key

CAP = 16 * 2**20
BLOCK = hashlib.sha256(b"upload").digest() * 2**15  # 1 MiB, not all one byte


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("upload-server")
    env = {"TRACEWIRE_ARTIFACT_MAX_UPLOAD_BYTES": str(CAP)}
    async with serving(database_url, workdir, env=env) as started:
        yield started


@pytest.fixture(autouse=True)
def no_traceback(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        server: ServerProcess = request.getfixturevalue("server")
        assert "Traceback" not in server.output(), server.output()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as made:
        yield made


def artifacts_dir(server: ServerProcess) -> Path:
    return server.workdir / "data" / "artifacts"


def stored_files(server: ServerProcess, org_slug: str) -> list[Path]:
    """Every file of the organization in the server's store, temporary ones included."""
    return sorted(p for p in (artifacts_dir(server) / org_slug).rglob("*") if p.is_file())


def new_key(org: str = "anything", name: str = "report.bin") -> str:
    return artifact_key(org, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), name)


async def blocks(count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield BLOCK


async def slug_of(key: IssuedKey, engine: AsyncEngine) -> str:
    async with session_factory(engine)() as session:
        slug = await session.scalar(select(Organization.slug).where(Organization.id == key.org_id))
    assert slug is not None
    return slug


async def test_a_streamed_body_is_stored_whole_and_answered_with_its_size_and_sha256(
    server: ServerProcess, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await new_org_key(engine)
    slug = await slug_of(owner, engine)
    key = new_key(slug)
    expected = BLOCK * 10

    response = await client.put(
        f"/v1/artifacts/{key}",
        content=blocks(10),  # chunked: the server never learns the size up front
        headers={**bearer(owner), "Content-Type": "application/octet-stream"},
    )

    assert response.status_code == 201, response.text
    assert response.json() == {
        "storage_key": key,
        "size_bytes": len(expected),
        "sha256": hashlib.sha256(expected).hexdigest(),
    }
    (stored,) = stored_files(server, slug)
    assert stored == artifacts_dir(server) / key
    assert stored.read_bytes() == expected


async def test_putting_the_same_key_again_replaces_the_object_and_answers_200(
    server: ServerProcess, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await new_org_key(engine)
    key = new_key(await slug_of(owner, engine), "notes.txt")
    first = await client.put(f"/v1/artifacts/{key}", content=b"first", headers=bearer(owner))
    again = await client.put(f"/v1/artifacts/{key}", content=b"second", headers=bearer(owner))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["size_bytes"] == len(b"second")
    assert (artifacts_dir(server) / key).read_bytes() == b"second"


async def test_an_upload_naming_another_org_lands_under_the_callers_own(
    server: ServerProcess, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller, victim = await new_org_key(engine), await new_org_key(engine)
    caller_slug, victim_slug = await slug_of(caller, engine), await slug_of(victim, engine)
    forged = new_key(victim_slug)

    response = await client.put(f"/v1/artifacts/{forged}", content=b"mine", headers=bearer(caller))

    assert response.status_code == 201, response.text
    own = forged.replace(victim_slug, caller_slug, 1)
    assert response.json()["storage_key"] == own
    assert (artifacts_dir(server) / own).read_bytes() == b"mine"
    assert stored_files(server, victim_slug) == []


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "missing API key"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization"),
        ("Bearer sk-tw-not-a-real-key", "invalid API key"),
    ],
)
async def test_an_upload_without_a_usable_key_is_refused_with_401_and_nothing_stored(
    server: ServerProcess, client: httpx.AsyncClient, authorization: str | None, message: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    key = new_key("nobody")

    response = await client.put(f"/v1/artifacts/{key}", content=BLOCK, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert message in response.json()["error"]
    assert not (artifacts_dir(server) / key).exists()


async def test_an_upload_with_a_revoked_key_is_refused_with_401(
    server: ServerProcess, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await new_org_key(engine)
    slug = await slug_of(owner, engine)
    async with session_factory(engine).begin() as session:
        assert await revoke_api_key(session, owner.public_key)

    key = new_key(slug)
    response = await client.put(f"/v1/artifacts/{key}", content=b"x", headers=bearer(owner))

    assert response.status_code == 401
    assert response.json() == {"error": "API key revoked"}
    assert stored_files(server, slug) == []


@pytest.mark.parametrize(
    "key",
    [
        "lonely",
        "org/not-a-run/run/report.bin",
        f"org/{uuid.uuid4().hex}/run",
        f"org/{uuid.uuid4().hex}/run/{uuid.uuid4().hex}-report.bin/extra",
        f"org/{uuid.uuid4().hex}/%2E%2E/{uuid.uuid4().hex}-report.bin",
        f"org/{uuid.uuid4().hex}/run/{uuid.uuid4().hex}-bad%09name",
    ],
)
async def test_a_key_not_shaped_as_an_artifact_key_is_refused_with_400(
    server: ServerProcess, client: httpx.AsyncClient, engine: AsyncEngine, key: str
) -> None:
    owner = await new_org_key(engine)

    response = await client.put(f"/v1/artifacts/{key}", content=b"x", headers=bearer(owner))

    assert response.status_code == 400, response.text
    assert "key" in response.json()["error"]
    assert stored_files(server, await slug_of(owner, engine)) == []


@pytest.mark.parametrize("mime", ["not a type", "video/../../text/html"])
async def test_a_content_type_that_is_no_media_type_is_stored_as_bytes(
    client: httpx.AsyncClient, engine: AsyncEngine, mime: str
) -> None:
    owner = await new_org_key(engine)
    headers = {**bearer(owner), "Content-Type": mime}

    response = await client.put(f"/v1/artifacts/{new_key()}", content=b"x", headers=headers)

    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == 1


async def test_a_body_over_the_cap_is_refused_with_413_and_nothing_stored(
    server: ServerProcess, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    owner = await new_org_key(engine)
    slug = await slug_of(owner, engine)
    streamed = new_key(slug)
    declared = new_key(slug)

    over = await client.put(
        f"/v1/artifacts/{streamed}", content=blocks(CAP // len(BLOCK) + 1), headers=bearer(owner)
    )
    said = await client.put(
        f"/v1/artifacts/{declared}", content=BLOCK * (CAP // len(BLOCK) + 1), headers=bearer(owner)
    )

    for response in (over, said):
        assert response.status_code == 413
        assert str(CAP) in response.json()["error"]
    assert stored_files(server, slug) == []  # no object, no temporary file either


async def test_a_client_that_leaves_midway_leaves_nothing_stored_and_the_server_serving(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    owner = await new_org_key(engine)
    slug = await slug_of(owner, engine)
    key = new_key(slug)
    head = (
        f"PUT /v1/artifacts/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {owner.secret}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK)

    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(head + chunk)
    await writer.drain()
    # The put's temporary file.
    await wait_until(lambda: len(stored_files(server, slug)) == 1, every=0.02, what="a temp file")
    writer.close()
    await writer.wait_closed()

    await wait_until(
        lambda: stored_files(server, slug) == [], every=0.02, what="the temp file removed"
    )
    assert not (artifacts_dir(server) / key).exists()
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_a_store_that_is_down_answers_503_with_retry_after(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    with socket.socket() as nothing_there:
        nothing_there.bind(("127.0.0.1", free_port()))  # bound, never listening: refused
        env = {
            "TRACEWIRE_ARTIFACT_STORE": "s3://artifacts",
            "TRACEWIRE_S3_ENDPOINT_URL": f"http://127.0.0.1:{nothing_there.getsockname()[1]}",
            "TRACEWIRE_S3_REGION": "us-east-1",
            "TRACEWIRE_S3_ACCESS_KEY_ID": "test",
            "TRACEWIRE_S3_SECRET_ACCESS_KEY": "test-secret",
        }
        async with serving(database_url, tmp_path, env=env) as down:
            owner = await new_org_key(engine)
            async with httpx.AsyncClient(base_url=down.http_url, timeout=60) as client:
                response = await client.put(
                    f"/v1/artifacts/{new_key()}", content=blocks(2), headers=bearer(owner)
                )
            assert "Traceback" not in down.output(), down.output()

    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert "unavailable" in response.json()["error"]
