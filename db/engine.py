"""One place that turns a user's database URL into engines and driver DSNs."""

import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_SCHEMES = ("postgresql://", "postgres://", "postgresql+asyncpg://", "postgresql+psycopg://")


def driver_dsn(url: str) -> str:
    """The URL as libpq and asyncpg understand it (`postgresql://...`)."""
    for scheme in _SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]!r}")


def with_database(url: str, database: str) -> str:
    """The URL of another database on the same server."""
    return make_url(driver_dsn(url)).set(database=database).render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return "postgresql+asyncpg://" + driver_dsn(url)[len("postgresql://") :]


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # orjson parses JSONB columns several times faster than the stdlib (a 1000-step
        # page carries 3000 JSON values).
        json_deserializer=orjson.loads,
        # JIT compilation costs 20-60 ms per statement and pays off only for queries far
        # longer than the API's; the API's are short by design (indexes, keyset pages).
        connect_args={"server_settings": {"jit": "off"}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
