"""The server's ingest service on a real Postgres: organizations take turns, one sender's
bad batch fails alone, a database that goes away is said at once (and writes resume when
it is back), and committed batch ids are forgotten after their retention."""

import asyncio
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import new_org_key
from tests._poll import wait_until
from tests._private_postgres import private_postgres
from tests.conftest import create_database
from tracewire.api.ingest.service import IngestService, Refused, Unavailable
from tracewire.db import migrate
from tracewire.db.engine import create_engine, session_factory
from tracewire.db.models import IngestedBatch, Run, Step
from tracewire.recorder._records import (
    RUN_OPENED,
    STEP_ENDED,
    STEP_STARTED,
    Batch,
    RunOpened,
    StepEnded,
    StepStarted,
    WireRecord,
)

T = 1_790_000_000.0


def _batch(run_id: uuid.UUID, steps: int, *, payload: str | None = None) -> Batch:
    records: list[WireRecord] = [
        RunOpened(RUN_OPENED, run_id.hex, "ignored", "agent", None, None, None, None, None, T)
    ]
    for i in range(steps):
        step = uuid.uuid4().hex
        records.append(StepStarted(STEP_STARTED, step, run_id.hex, None, f"s{i}", "info",
                                   None, payload, None, None, T))  # fmt: skip
        records.append(StepEnded(STEP_ENDED, step, run_id.hex, "completed", None, None, None,
                                 None, None, None, None, None, None, None, T, 0.0))  # fmt: skip
    return Batch(uuid.uuid4().hex, records)


async def _steps(engine: AsyncEngine, run_id: uuid.UUID) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).where(Step.run_id == run_id)) or 0)


async def test_organizations_take_turns(database_url: str, engine: AsyncEngine) -> None:
    """A burst of one organization does not hold up another's one batch behind it."""
    busy, quiet = await new_org_key(engine), await new_org_key(engine)
    service = IngestService(database_url, group_records=400, max_queued_records=100_000)
    order: list[str] = []

    async def send(org_id: uuid.UUID, name: str) -> None:
        await service.submit(org_id, _batch(uuid.uuid4(), 100))
        order.append(name)

    burst = [asyncio.create_task(send(busy.org_id, "busy")) for _ in range(30)]
    batch_size = len(_batch(uuid.uuid4(), 100).records)
    # All of the burst is queued first.
    await wait_until(lambda: service.queued_records == len(burst) * batch_size)
    one = asyncio.create_task(send(quiet.org_id, "quiet"))
    await service.start()
    try:
        await asyncio.gather(*burst, one)
    finally:
        await service.close()
    # Groups of ~2 batches: round-robin puts the quiet one in the first group, where
    # first-come-first-served would have put it after all thirty.
    assert order.index("quiet") <= 2, order


def _with_step_id(batch: Batch, step_id: str) -> Batch:
    records = [
        r._replace(step_id=step_id) if r.kind in (STEP_STARTED, STEP_ENDED) else r
        for r in batch.records
    ]
    return batch._replace(records=records)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda run: _batch(run, 3, payload="{not json"), "json"),
        (lambda run: _with_step_id(_batch(run, 1), "z" * 32), "uuid"),
    ],
)
async def test_a_batch_the_database_refuses_fails_alone(
    database_url: str,
    engine: AsyncEngine,
    spoil: Callable[[uuid.UUID], Batch],
    message: str,
) -> None:
    key = await new_org_key(engine)
    service = IngestService(database_url)
    good_run, bad_run = uuid.uuid4(), uuid.uuid4()
    good = service.submit(key.org_id, _batch(good_run, 3))
    bad = service.submit(key.org_id, spoil(bad_run))
    await service.start()
    try:
        results = await asyncio.gather(good, bad, return_exceptions=True)
    finally:
        await service.close()
    assert results[0] is True
    assert isinstance(results[1], Refused) and message in str(results[1]).lower()
    assert await _steps(engine, good_run) == 3
    async with session_factory(engine)() as session:
        assert await session.get(Run, bad_run) is None


@pytest.mark.slow
async def test_a_database_that_goes_away_is_said_at_once_and_writes_resume() -> None:
    with private_postgres() as postgres:
        url = await create_database(postgres.url)
        await migrate.upgrade(url)
        engine = create_engine(url)
        try:
            key = await new_org_key(engine)
            service = IngestService(url)
            await service.start()
            try:
                assert await service.submit(key.org_id, _batch(uuid.uuid4(), 2))
                await engine.dispose()
                postgres.stop()
                with pytest.raises(Unavailable) as raised:
                    await service.submit(key.org_id, _batch(uuid.uuid4(), 2))
                assert raised.value.retry_after > 0
                postgres.start()
                run = uuid.uuid4()
                deadline = asyncio.get_running_loop().time() + 60  # a restart: seconds idle
                while True:  # as a sender honouring Retry-After does
                    try:
                        assert await service.submit(key.org_id, _batch(run, 2))
                        break
                    except Unavailable as error:
                        assert asyncio.get_running_loop().time() < deadline
                        await asyncio.sleep(error.retry_after)  # paces the retries
            finally:
                await service.close()
            assert await _steps(engine, run) == 2
        finally:
            await engine.dispose()


async def test_committed_batch_ids_are_forgotten_after_their_retention(
    database_url: str, engine: AsyncEngine
) -> None:
    old, recent = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO ingested_batches (id, committed_at) VALUES "
                "(:old, now() - interval '3 days'), (:recent, now() - interval '1 day')"
            ),
            {"old": old, "recent": recent},
        )
    service = IngestService(database_url)  # two days, by default
    try:
        assert await service.prune_batch_ids() >= 1
    finally:
        await service.close()
    async with session_factory(engine)() as session:
        assert await session.get(IngestedBatch, old) is None
        assert await session.get(IngestedBatch, recent) is not None
