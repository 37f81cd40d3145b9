"""Organizations and their API keys.

A key is a pair: the public key names it (safe to log, shown in lists) and the secret
authenticates. Only the SHA-256 of the secret is stored; the secret itself is returned once,
by `create_api_key`, and never again.

These functions run inside the caller's transaction and do not commit: wrap them in
`async with sessions.begin() as session:` (or commit yourself).
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tracewire.db.models import ApiKey, Organization

PUBLIC_KEY_PREFIX = "pk-tw-"
SECRET_KEY_PREFIX = "sk-tw-"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key. `secret` exists only here: the database keeps its hash."""

    org_id: uuid.UUID
    public_key: str
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a secret key. A fast hash is enough: secrets are 256-bit random."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def ensure_org(session: AsyncSession, slug: str) -> uuid.UUID:
    """The id of the organization `slug`, creating it (named after the slug) if missing.

    Safe when several processes ensure the same slug at once: the insert yields to the
    unique slug, and the row is then read back whoever created it.
    """
    if not slug:
        raise ValueError("an organization slug must not be empty")
    await session.execute(
        insert(Organization)
        .values(id=uuid.uuid4(), slug=slug, name=slug)
        .on_conflict_do_nothing(index_elements=[Organization.slug])
    )
    org_id = await session.scalar(select(Organization.id).where(Organization.slug == slug))
    assert org_id is not None  # inserted above or by the transaction we conflicted with
    return org_id


async def create_api_key(session: AsyncSession, org_slug: str, name: str = "") -> IssuedKey:
    """Issue a new key for `org_slug` (creating the organization if needed)."""
    org_id = await ensure_org(session, org_slug)
    public_key = PUBLIC_KEY_PREFIX + secrets.token_hex(16)
    secret = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(org_id=org_id, name=name, public_key=public_key, secret_hash=hash_secret(secret))
    )
    await session.flush()
    return IssuedKey(org_id=org_id, public_key=public_key, secret=secret)


async def ensure_api_key(
    session: AsyncSession, org_slug: str, public_key: str, secret: str, name: str = ""
) -> uuid.UUID:
    """Make sure the key `public_key` with this `secret` exists, active, in `org_slug`
    (for a key that is published on purpose: the demo's). Returns the organization's id."""
    if not public_key.startswith(PUBLIC_KEY_PREFIX) or not secret.startswith(SECRET_KEY_PREFIX):
        raise ValueError(f"keys look like {PUBLIC_KEY_PREFIX}... and {SECRET_KEY_PREFIX}...")
    org_id = await ensure_org(session, org_slug)
    await session.execute(
        insert(ApiKey)
        .values(
            id=uuid.uuid4(),
            org_id=org_id,
            name=name,
            public_key=public_key,
            secret_hash=hash_secret(secret),
        )
        .on_conflict_do_update(
            index_elements=[ApiKey.public_key],
            set_={"org_id": org_id, "secret_hash": hash_secret(secret), "revoked_at": None},
        )
    )
    return org_id


async def revoke_api_key(session: AsyncSession, public_key: str) -> bool:
    """Revoke a key by its public key; False if no such key is active."""
    return await _revoke(session, ApiKey.public_key == public_key)


async def revoke_named_key(session: AsyncSession, secret: str, name: str) -> bool:
    """Revoke the key with this secret if it bears `name` (the web UI's sign-out revokes
    only keys it issued itself); False if no such key is active."""
    return await _revoke(session, ApiKey.secret_hash == hash_secret(secret), ApiKey.name == name)


async def _revoke(session: AsyncSession, *which: ColumnElement[bool]) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(*which, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey.id)
    )
    return result.first() is not None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as `tracewire keys list` shows it: never its secret (only the hash is kept)."""

    public_key: str
    org_slug: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def list_api_keys(session: AsyncSession, org_slug: str | None = None) -> list[KeyInfo]:
    """Keys, oldest first, of one organization or of all."""
    stmt = (
        select(
            ApiKey.public_key,
            Organization.slug,
            ApiKey.name,
            ApiKey.created_at,
            ApiKey.last_used_at,
            ApiKey.revoked_at,
        )
        .join(Organization, Organization.id == ApiKey.org_id)
        .order_by(ApiKey.created_at, ApiKey.public_key)
    )
    if org_slug is not None:
        stmt = stmt.where(Organization.slug == org_slug)
    return [KeyInfo(*row) for row in (await session.execute(stmt)).all()]
