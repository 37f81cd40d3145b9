"""Organizations and API keys: secrets are stored only as hashes, ensuring an organization
is idempotent even when raced, revocation is reported."""

import asyncio
import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import unique_slug
from tracewire.api.keys import create_api_key, ensure_org, revoke_api_key
from tracewire.db.engine import session_factory
from tracewire.db.models import ApiKey, Organization


async def test_a_new_key_is_returned_once_and_stored_only_as_its_hash(
    engine: AsyncEngine,
) -> None:
    slug = unique_slug()
    async with session_factory(engine).begin() as session:
        issued = await create_api_key(session, slug, name="ci")

    async with session_factory(engine)() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.public_key == issued.public_key))
        org = await session.get(Organization, issued.org_id)

    assert row is not None and org is not None
    assert issued.public_key.startswith("pk-tw-") and issued.secret.startswith("sk-tw-")
    assert row.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in {row.public_key, row.name, row.secret_hash}
    assert (row.org_id, row.name, row.revoked_at) == (issued.org_id, "ci", None)
    assert (org.slug, org.name) == (slug, slug)


async def test_ensuring_one_org_from_many_sessions_at_once_creates_it_once(
    engine: AsyncEngine,
) -> None:
    slug = unique_slug()

    async def ensure() -> object:
        async with session_factory(engine).begin() as session:
            return await ensure_org(session, slug)

    ids = await asyncio.gather(*(ensure() for _ in range(8)))
    async with session_factory(engine)() as session:
        rows = await session.scalar(
            select(func.count()).select_from(Organization).where(Organization.slug == slug)
        )

    assert len(set(ids)) == 1
    assert rows == 1


async def test_revoking_reports_whether_an_active_key_was_revoked(engine: AsyncEngine) -> None:
    async with session_factory(engine).begin() as session:
        issued = await create_api_key(session, unique_slug())

    async with session_factory(engine).begin() as session:
        first = await revoke_api_key(session, issued.public_key)
    async with session_factory(engine).begin() as session:
        again = await revoke_api_key(session, issued.public_key)
        unknown = await revoke_api_key(session, "pk-tw-unknown")

    assert (first, again, unknown) == (True, False, False)
