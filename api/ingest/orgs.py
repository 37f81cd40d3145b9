"""Organization slugs by id, for what names an organization in a key or a reply."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracewire.db.models import Organization

# A slug never changes once made, so a process may keep what it has read.
_slugs: dict[uuid.UUID, str] = {}


async def org_slug(sessions: async_sessionmaker[AsyncSession], org_id: uuid.UUID) -> str:
    slug = _slugs.get(org_id)
    if slug is None:
        async with sessions() as session:
            slug = await session.scalar(select(Organization.slug).where(Organization.id == org_id))
        if slug is None:
            raise LookupError(f"no organization {org_id}")
        _slugs[org_id] = slug
    return slug
