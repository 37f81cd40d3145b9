"""Schema upgrades and downgrades through Alembic, serialised by a Postgres advisory lock
so that several servers starting at once against one database migrate it exactly once."""

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tracewire.db.engine import create_engine

# Package data of `tracewire.migrations`, read where it is installed.
MIGRATIONS_DIR = Path(str(resources.files("tracewire.migrations")))
# Any fixed 64-bit number; ours spells "tracewir" in ASCII.
MIGRATION_LOCK_KEY = 0x7472616365776972 - (1 << 63)

_Action = Callable[[Config], None]


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade(database_url: str, revision: str = "heads") -> None:
    await _run_locked(database_url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(database_url: str, revision: str) -> None:
    await _run_locked(database_url, lambda cfg: command.downgrade(cfg, revision))


async def current_revision(database_url: str) -> str | None:
    """The database's revision; while parallel branches are not yet merged, the revision of
    each branch, sorted and comma-separated (`heads_label` names the scripts' heads alike)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
            if not exists:
                return None
            versions = await conn.scalars(text("SELECT version_num FROM alembic_version"))
            return ",".join(sorted(versions)) or None
    finally:
        await engine.dispose()


def heads_label() -> str:
    """The scripts' head revisions as `current_revision` reports a database at them."""
    script = ScriptDirectory.from_config(alembic_config())
    return ",".join(sorted(script.get_heads()))


async def _run_locked(database_url: str, action: _Action) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                await conn.run_sync(lambda sync_conn: action(alembic_config(sync_conn)))
                await conn.commit()
            finally:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                await conn.commit()
    finally:
        await engine.dispose()
