"""The recorder over HTTP into a real server process (`tracewire serve`), with an API key:
every step type round-trips, the organization comes from the key, and an outage, a busy
server or a lost answer loses nothing and stores nothing twice."""

import asyncio
import gzip
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests._answer_dropping_proxy import AnswerDroppingProxy
from tests._api import new_org_key
from tests._poll import wait_until
from tests._server import ServerProcess, serving
from tests.recorder._every_step_type import check_every_step_type, record_every_step_type
from tracewire.api.keys import IssuedKey
from tracewire.db.engine import session_factory
from tracewire.db.models import ApiKey, Organization, Run, RunEvent, RunVendorUsage, Step
from tracewire.recorder import Recorder, RecorderSettings
from tracewire.recorder._http_sink import MEDIA_TYPE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(database_url, tmp_path_factory.mktemp("http-server")) as server:
        yield server


def _settings(tmp_path: Path, **overrides: object) -> RecorderSettings:
    return RecorderSettings(
        spool_dir=tmp_path / "spool",
        flush_interval=0.01,
        **overrides,  # type: ignore[arg-type]
    )


async def _steps(engine: AsyncEngine, run_id: uuid.UUID) -> list[Step]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(select(Step).where(Step.run_id == run_id).order_by(Step.seq))
        return list(rows)


async def _run(engine: AsyncEngine, run_id: uuid.UUID) -> Run | None:
    async with session_factory(engine)() as session:
        return await session.get(Run, run_id)


async def _count_steps(engine: AsyncEngine, run_id: uuid.UUID) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).where(Step.run_id == run_id)) or 0)


async def test_every_step_type_round_trips_over_http_into_the_keys_organization(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    key = await new_org_key(engine)
    # The org named here is not the key's: the key decides.
    rec = Recorder(server.http_url, api_key=key.secret, org="someone-else",
                   settings=_settings(tmp_path))  # fmt: skip
    with rec.run("bot", input={"q": "where is my order"}, user_id="u1", tags=["x"]) as run:
        record_every_step_type(run)
        run.update(metadata={"ticket": 42})
    assert await asyncio.to_thread(rec.close)

    db_run = await _run(engine, run.id)
    assert db_run is not None
    check_every_step_type(await _steps(engine, run.id), db_run)
    assert (db_run.org_id, db_run.status, db_run.agent, db_run.user_id, db_run.tags) == (
        key.org_id, "completed", "bot", "u1", ["x"],
    )  # fmt: skip
    assert db_run.metadata_ == {"ticket": 42}
    async with session_factory(engine)() as session:
        usage = await session.get(RunVendorUsage, (run.id, "tavily"))
        assert usage is not None and (usage.calls, usage.rate_limit_hits) == (2, 1)
        named = await session.scalar(
            select(Organization).where(Organization.slug == "someone-else")
        )
        assert named is None  # the org the recorder named was never created


def _body(batch_id: str, records: list[list[object]]) -> bytes:
    return gzip.compress(orjson.dumps({"id": batch_id, "records": records, "health": None}))


def _headers(key: IssuedKey) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key.secret}",
        "Content-Type": MEDIA_TYPE,
        "Content-Encoding": "gzip",
    }


def _opened(run_id: uuid.UUID, org: str) -> list[object]:
    return [0, run_id.hex, org, "agent", None, None, None, None, None, 1_700_000_000.0]


def _started(run_id: uuid.UUID, step_id: uuid.UUID) -> list[object]:
    return [2, step_id.hex, run_id.hex, None, "s", "info", None, None, None, None, 1.7e9]


async def test_a_key_writes_only_into_its_own_organization(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    mine, theirs = await new_org_key(engine), await new_org_key(engine)
    their_run = uuid.uuid4()
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        answer = await client.post(
            "/v1/ingest",
            content=_body(uuid.uuid4().hex, [_opened(their_run, "whatever")]),
            headers=_headers(theirs),
        )
        assert answer.status_code == 200, answer.text
        # My key, their run: steps into it, and opening it "again", are refused whole.
        for records in ([_started(their_run, uuid.uuid4())], [_opened(their_run, "mine")]):
            answer = await client.post(
                "/v1/ingest", content=_body(uuid.uuid4().hex, records), headers=_headers(mine)
            )
            assert answer.status_code == 403, answer.text
            assert "not runs of this organization" in answer.json()["error"]
    run = await _run(engine, their_run)
    assert run is not None and run.org_id == theirs.org_id and run.step_count == 0


async def test_a_revoked_key_is_refused_at_once(server: ServerProcess, engine: AsyncEngine) -> None:
    key = await new_org_key(engine)
    body = _body(uuid.uuid4().hex, [_opened(uuid.uuid4(), "x")])
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        assert (await client.post("/v1/ingest", content=body, headers=_headers(key))).is_success
        async with session_factory(engine).begin() as session:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.public_key == key.public_key)
                .values(revoked_at=func.now())
            )
        body = _body(uuid.uuid4().hex, [_opened(uuid.uuid4(), "x")])
        answer = await client.post("/v1/ingest", content=body, headers=_headers(key))
        assert answer.status_code == 401
        assert answer.json()["error"] == "API key revoked"
        answer = await client.post("/v1/ingest", content=body, headers={"Content-Type": MEDIA_TYPE})
        assert answer.status_code == 401


_STEP_ENDED = [3, "a" * 32, "b" * 32, "completed", *[None] * 10, 1.7e9, 1.0]
_STARTED_REST = [None, "s", "info", None, None, None, None, 1.7e9]  # after the run id


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "malformed JSON"),
        (orjson.dumps({"id": "nope", "records": [_STEP_ENDED]}), "at `$.id`"),
        (orjson.dumps({"id": "0" * 32, "records": []}), "at `$.records`"),
        (orjson.dumps({"id": "0" * 32, "records": [[99]]}), "Invalid value 99"),
        (orjson.dumps({"id": "0" * 32, "records": [[0, "x"]]}), "at `$.records[0][1]`"),
        (orjson.dumps({"id": "0" * 32, "records": [_STEP_ENDED[:-1]]}), "at `$.records[0]`"),
        (
            orjson.dumps(
                {"id": "0" * 32, "records": [[*_STEP_ENDED[:3], "odd", *_STEP_ENDED[4:]]]}
            ),
            "Invalid enum value 'odd' - at `$.records[0][3]`",
        ),
        (
            orjson.dumps({"id": "0" * 32, "records": [[*_STEP_ENDED[:14], -5.0, 1.0]]}),
            "at `$.records[0][14]`",
        ),
        (orjson.dumps({"id": "0" * 32, "records": [[7, "c" * 32, {"nope": 1}]]}), "no column"),
        (
            orjson.dumps({"id": "0" * 32, "records": [[2, "a" * 32, "Z" * 32, *_STARTED_REST]]}),
            "not hex",
        ),
    ],
)
async def test_a_malformed_batch_is_a_400_with_a_message(
    server: ServerProcess, engine: AsyncEngine, body: bytes, message: str
) -> None:
    key = await new_org_key(engine)
    headers = {**_headers(key), "Content-Encoding": "identity"}
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        answer = await client.post("/v1/ingest", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


async def test_a_batch_whose_answer_is_lost_is_stored_once(
    server: ServerProcess, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run_id, batch_id = uuid.uuid4(), uuid.uuid4().hex
    body = _body(batch_id, [_opened(run_id, "x"), _started(run_id, uuid.uuid4())])
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        first = await client.post("/v1/ingest", content=body, headers=_headers(key))
        again = await client.post("/v1/ingest", content=body, headers=_headers(key))
    assert first.json() == {"stored": True, "records": 2}
    assert again.json() == {"stored": False, "records": 2}
    assert await _count_steps(engine, run_id) == 1
    async with session_factory(engine)() as session:
        kinds = await session.scalars(select(RunEvent.kind).where(RunEvent.run_id == run_id))
        assert sorted(kinds) == ["run_created", "step_started"]


async def test_batches_whose_answers_are_lost_are_stored_once(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    key = await new_org_key(engine)
    proxy = AnswerDroppingProxy(server.port, drops=3)
    url = await proxy.start()
    try:
        rec = Recorder(url, api_key=key.secret, settings=_settings(tmp_path, batch_size=50))
        run = rec.run("lossy")
        for i in range(300):
            run.info(f"step {i}")
        run.finish()
        assert await asyncio.to_thread(rec.close, 60)
    finally:
        await proxy.stop()
    assert proxy.dropped == 3
    steps = await _steps(engine, run.id)
    assert [s.payload["message"] for s in steps] == [f"step {i}" for i in range(300)]
    async with session_factory(engine)() as session:
        kinds = list(await session.scalars(select(RunEvent.kind).where(RunEvent.run_id == run.id)))
    assert kinds.count("run_created") == 1 and kinds.count("run_status_changed") == 1
    assert len(kinds) == 302


async def test_the_server_down_for_10_s_loses_nothing(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    key = await new_org_key(engine)
    server = ServerProcess(database_url, tmp_path)
    await server.start()
    rec = Recorder(server.http_url, api_key=key.secret, settings=_settings(tmp_path))
    run = rec.run("outage")
    try:
        for i in range(100):
            run.info(f"before {i}")
        assert await asyncio.to_thread(rec.flush, 30)
        assert await server.stop() == 0
        loop = asyncio.get_running_loop()
        down_until = loop.time() + 10
        i = 0
        while loop.time() < down_until:  # the agent goes on recording while it is down
            run.info(f"during {i}")
            i += 1
            await asyncio.sleep(0.01)
        # Kept on disk, not only in memory.
        await wait_until(lambda: _spooled(rec), what=lambda: str(rec.stats()))
        await server.start()
        run.finish()
        assert await asyncio.to_thread(rec.flush, 60)
    finally:
        await asyncio.to_thread(rec.close)
        await server.stop()
    steps = await _steps(engine, run.id)
    names = [s.payload["message"] for s in steps]
    assert names == [f"before {n}" for n in range(100)] + [f"during {n}" for n in range(i)]
    assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
    db_run = await _run(engine, run.id)
    assert db_run is not None and db_run.status == "completed"


async def _spooled(rec: Recorder) -> bool:
    return rec.stats().spooled_bytes > 0


async def _spooled_after_refusals(rec: Recorder) -> bool:
    # Spooling is time-based: a batch the server holds may be spooled before any 429.
    stats = rec.stats()
    return stats.spooled_bytes > 0 and stats.failed_attempts > 0


async def test_a_busy_server_answers_429_and_the_recorder_spools_then_replays(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    """The writer is held up (a run's row locked by another transaction), the server's
    small queue fills, later batches get 429 with Retry-After: the recorder keeps them on
    disk and replays them, in order, once the server takes them."""
    key = await new_org_key(engine)
    env = {"TRACEWIRE_INGEST_QUEUE_RECORDS": "300"}
    async with serving(database_url, tmp_path, env=env) as server:
        blocker = Recorder(server.http_url, api_key=key.secret, settings=_settings(tmp_path / "b"))
        blocked = blocker.run("blocked")
        assert await asyncio.to_thread(blocker.flush, 30)
        rec = Recorder(server.http_url, api_key=key.secret,
                       settings=_settings(tmp_path / "r", batch_size=100))  # fmt: skip
        run = rec.run("busy")
        assert await asyncio.to_thread(rec.flush, 30)
        async with engine.connect() as lock:
            transaction = await lock.begin()
            await lock.execute(select(Run.id).where(Run.id == blocked.id).with_for_update())
            blocked.info("waits for the lock")  # holds the server's one writer
            await wait_until(
                lambda: _waits_for(engine, lock), what="the server's writer waiting for the lock"
            )
            for i in range(2000):
                run.info(f"step {i}")
                if i % 100 == 0:
                    await asyncio.sleep(0.02)
            await wait_until(lambda: _spooled_after_refusals(rec), what=lambda: str(rec.stats()))
            await transaction.rollback()
        run.finish()
        assert await asyncio.to_thread(rec.flush, 60)
        assert await asyncio.to_thread(blocker.flush, 30)
        await asyncio.to_thread(rec.close)
        await asyncio.to_thread(blocker.close)
        assert "429" in (rec.stats().last_error or "")
    steps = await _steps(engine, run.id)
    assert [s.payload["message"] for s in steps] == [f"step {i}" for i in range(2000)]
    assert [s.seq for s in steps] == list(range(1, 2001))


async def _waits_for(engine: AsyncEngine, holder: AsyncConnection) -> bool:
    """Whether some session waits for a lock that `holder` holds."""
    holder_pid = await holder.scalar(text("SELECT pg_backend_pid()"))
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
            {"pid": holder_pid},
        )
    return bool(waiting)


async def _updated_at(engine: AsyncEngine, run_id: uuid.UUID) -> datetime:
    async with engine.connect() as conn:
        updated_at = await conn.scalar(select(Run.updated_at).where(Run.id == run_id))
    assert updated_at is not None
    return updated_at


async def test_an_open_run_is_heartbeated_over_http(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    key = await new_org_key(engine)
    interval = 0.3
    rec = Recorder(server.http_url, api_key=key.secret,
                   settings=_settings(tmp_path, heartbeat_interval=interval))  # fmt: skip
    quiet = rec.run("bot")
    assert await asyncio.to_thread(rec.flush, 10)
    since = await _updated_at(engine, quiet.id)
    seen: set[datetime] = set()

    async def refreshed_twice() -> bool:
        # Nothing is recorded: two new values are heartbeats, one at least sent after the
        # flush. A late heartbeat thread on a loaded machine only makes this wait longer.
        updated_at = await _updated_at(engine, quiet.id)
        if updated_at > since:
            seen.add(updated_at)
        return len(seen) >= 2

    try:
        await wait_until(refreshed_twice, every=interval / 3, what="two heartbeats over HTTP")
    finally:
        quiet.finish()
        assert await asyncio.to_thread(rec.close, 10)


async def test_workers_attached_over_http_keep_seq_gap_free(
    server: ServerProcess, engine: AsyncEngine, tmp_path: Path
) -> None:
    """A worker may send before the batch that opens the run is committed: the server says
    409 and the worker sends the same batch again until the run is there."""
    key = await new_org_key(engine)
    opener = Recorder(server.http_url, api_key=key.secret, settings=_settings(tmp_path / "o"))
    run_id = uuid.uuid4()
    workers = [
        Recorder(server.http_url, api_key=key.secret, settings=_settings(tmp_path / f"w{n}"))
        for n in range(3)
    ]
    handles = [w.attach(run_id) for w in workers]
    for n, handle in enumerate(handles):
        for i in range(200):
            handle.info(f"w{n} {i}")
    # Give the workers time to be refused before the run exists.
    await wait_until(lambda: _refused(workers), what="a worker's batch refused with 409")
    run = opener.run("controller", run_id=run_id)
    for worker in workers:
        assert await asyncio.to_thread(worker.flush, 30)
    run.finish()
    assert await asyncio.to_thread(opener.close, 30)
    for worker in workers:
        assert await asyncio.to_thread(worker.close, 30)
    steps = await _steps(engine, run_id)
    assert [s.seq for s in steps] == list(range(1, 601))
    for n in range(3):  # each worker's steps in its own order
        mine = [s.payload["message"] for s in steps if s.payload["message"].startswith(f"w{n} ")]
        assert mine == [f"w{n} {i}" for i in range(200)]


async def _refused(workers: list[Recorder]) -> bool:
    return all("409" in (w.stats().last_error or "") for w in workers)
