"""Helpers for driving the API in-process: the app on the test's own event loop (its
lifespan entered here, as uvicorn would), and rows written straight through SQLAlchemy."""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tracewire.api.app import create_app
from tracewire.api.keys import IssuedKey, create_api_key
from tracewire.api.settings import ServerSettings
from tracewire.db.engine import session_factory
from tracewire.db.enums import StepStatus, StepType
from tracewire.db.models import Run, Step

BASE_URL = "http://tracewire.test"


@asynccontextmanager
async def serve(
    database_url: str, anonymous_org: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    # No OTLP/gRPC: its default port is one per machine, wanted by every other test session.
    settings = ServerSettings(database_url=database_url, anonymous_org=anonymous_org, grpc_port=0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


def bearer(key: IssuedKey | str) -> dict[str, str]:
    secret = key.secret if isinstance(key, IssuedKey) else key
    return {"Authorization": f"Bearer {secret}"}


async def query(
    client: httpx.AsyncClient,
    document: str,
    key: IssuedKey | None,
    **variables: Any,
) -> dict[str, Any]:
    """The response body of a GraphQL POST (which must answer 200)."""
    response = await client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers=bearer(key) if key else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: httpx.AsyncClient, document: str, key: IssuedKey | None, **variables: Any
) -> dict[str, Any]:
    """The `data` of a GraphQL response that must have no errors."""
    body = await query(client, document, key, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def unique_slug(prefix: str = "org") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def new_org_key(engine: AsyncEngine, slug: str | None = None) -> IssuedKey:
    async with session_factory(engine).begin() as session:
        return await create_api_key(session, slug or unique_slug(), name="test")


async def add_runs(
    engine: AsyncEngine,
    org_id: uuid.UUID,
    count: int,
    *,
    newest: datetime | None = None,
    same_time_every: int = 1,
    **fields: Any,
) -> list[uuid.UUID]:
    """`count` runs, newest first in the returned list; `same_time_every` runs share one
    `created_at` so that ties are broken by id."""
    newest = newest or datetime.now(UTC)
    rows = [
        Run(
            id=uuid.uuid4(),
            org_id=org_id,
            agent=fields.get("agent", "test-agent"),
            created_at=newest - timedelta(seconds=i // same_time_every),
            **{k: v for k, v in fields.items() if k != "agent"},
        )
        for i in range(count)
    ]
    async with session_factory(engine).begin() as session:
        session.add_all(rows)
    ordered = sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
    return [r.id for r in ordered]


@dataclass(frozen=True)
class StepSpec:
    name: str
    type: StepType = StepType.NODE
    status: StepStatus = StepStatus.COMPLETED


async def add_steps(
    engine: AsyncEngine, org_id: uuid.UUID, run_id: uuid.UUID, specs: Sequence[StepSpec]
) -> list[uuid.UUID]:
    """Steps with seq 1..n in the order given."""
    started = datetime.now(UTC)
    rows = [
        Step(
            id=uuid.uuid4(),
            org_id=org_id,
            run_id=run_id,
            seq=seq,
            name=spec.name,
            type=spec.type.value,
            status=spec.status.value,
            started_at=started + timedelta(milliseconds=seq),
            cost=Decimal("0.001"),
        )
        for seq, spec in enumerate(specs, start=1)
    ]
    async with session_factory(engine).begin() as session:
        # Written last-first, so that seq order is not merely insertion order.
        session.add_all(reversed(rows))
    return [r.id for r in rows]
