"""`tracewire keys create|list|revoke`: the CLI's API-key commands, on a database URL.

The secret of a new key is printed once, here, and never stored: only its hash is kept.
"""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from tracewire.api.keys import IssuedKey, KeyInfo, create_api_key, list_api_keys, revoke_api_key
from tracewire.db import migrate
from tracewire.db.engine import create_engine, session_factory


def create(database_url: str, org: str, name: str) -> int:
    issued = asyncio.run(_create(database_url, org, name))
    print(f"org:        {org}")
    print(f"public key: {issued.public_key}")
    print(f"secret key: {issued.secret}")
    print("Keep the secret key now: it is not stored and cannot be shown again.")
    return 0


def list_keys(database_url: str, org: str | None) -> int:
    keys = asyncio.run(_list(database_url, org))
    if not keys:
        print("no API keys" + (f" for org {org!r}" if org else ""))
        return 0
    print("PUBLIC KEY\tORG\tNAME\tCREATED\tLAST USED\tSTATUS")
    for key in keys:
        status = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        last_used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        print(
            f"{key.public_key}\t{key.org_slug}\t{key.name or '-'}\t"
            f"{key.created_at:%Y-%m-%d %H:%M}\t{last_used}\t{status}"
        )
    return 0


def revoke(database_url: str, public_key: str) -> int:
    if asyncio.run(_revoke(database_url, public_key)):
        print(f"revoked {public_key}")
        return 0
    print(f"tracewire: error: no active key {public_key!r}", file=sys.stderr)
    return 1


async def _create(database_url: str, org: str, name: str) -> IssuedKey:
    async with _session(database_url) as session:
        return await create_api_key(session, org, name)


async def _list(database_url: str, org: str | None) -> list[KeyInfo]:
    async with _session(database_url) as session:
        return await list_api_keys(session, org)


async def _revoke(database_url: str, public_key: str) -> bool:
    async with _session(database_url) as session:
        return await revoke_api_key(session, public_key)


@asynccontextmanager
async def _session(database_url: str) -> AsyncIterator[AsyncSession]:
    """One transaction on a migrated database, committed when the block ends."""
    await migrate.upgrade(database_url)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine).begin() as session:
            yield session
    finally:
        await engine.dispose()
