"""The recorder's settings: read once (from arguments or the environment), then passed down."""

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from platformdirs import user_data_path
from starlette.config import Config

from tracewire.storage.config import S3Options, StoreConfig

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
LANGFUSE_CLOUD = "https://cloud.langfuse.com"


_DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
_SERVER_SCHEMES = ("http", "https")


def check_server_url(url: str) -> None:
    """Refuse a server URL the writer could never reach (as `check_database_url` does)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid server URL {url!r}: {exc}") from None
    if parts.scheme not in _SERVER_SCHEMES:
        raise ValueError(f"invalid server URL {url!r}: expected http(s)://host:port")
    if parts.hostname is None or not _is_host_name(parts.hostname):
        raise ValueError(f"invalid server URL {url!r}: it names no host")
    if port == 0:
        raise ValueError(f"invalid server URL {url!r}: port 0")
    if parts.query or parts.fragment:
        raise ValueError(f"invalid server URL {url!r}: no query or fragment, please")


def is_server_url(url: str) -> bool:
    """True for an `http(s)://` URL (a Tracewire server), False for anything else (a
    database URL, checked as one)."""
    return url.startswith(("http://", "https://"))


def check_database_url(url: str) -> None:
    """Refuse, with one clear message, a URL the writer thread could never connect to
    (a typo or a placeholder would otherwise only show as retries in the background)."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid database URL {shown}: {exc}") from None
    if parts.scheme not in _DATABASE_SCHEMES:
        raise ValueError(f"invalid database URL {shown}: expected postgresql://host:port/db")
    host = parts.hostname
    if host is None:
        if "host=" not in parts.query:  # a Unix socket: postgresql:///db?host=/run/postgresql
            raise ValueError(f"invalid database URL {shown}: it names no host")
    elif not _is_host_name(host):
        raise ValueError(f"invalid database URL {shown}: {host!r} is not a host name")
    if port == 0:
        raise ValueError(f"invalid database URL {shown}: port 0")


def redact_url(url: str) -> str:
    """`url` with its password masked, fit to print."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "the database URL"


def _is_host_name(host: str) -> bool:
    if ":" in host:  # an IPv6 literal, brackets already removed by urlsplit
        return all(c in "0123456789abcdef:." for c in host.lower())
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return all(label and not label.startswith("-") for label in host.split("."))


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """How the recorder batches, where it writes, and where it spools.

    It writes to a Tracewire server (`server_url`, `http(s)://host:port`, authenticated by
    `api_key`, whose organization the runs go to), or straight into Postgres
    (`database_url`, into the organization `org`). One of them, not both.

    `batch_size` records wake the writer at once; otherwise it wakes every `flush_interval`
    seconds, which bounds how stale a live trace can be. `close_timeout` bounds the wait at
    close and at interpreter exit; what is not committed by then is spooled. Close returns
    sooner once everything is committed, or spooled while the database fails or hangs.

    The writer keeps at most `max_queue` records in memory (its memory budget). During an
    outage (the database refuses batches, or a call goes `spool_after` seconds without an
    answer), what has waited `spool_after` seconds uncommitted, and always what is past
    the budget, it appends to a file under `spool_dir` (default: the user data dir, one
    folder per database), and during an outage what arrives joins it every
    `flush_interval`; it replays the file in order once the database takes batches again,
    and a later process replays a spool left by one that was killed. During an outage a
    kill -9 loses at most what was recorded in the last `spool_after` plus one
    `flush_interval`; while the database answers, what it has not committed yet (a
    backlog in memory, when it is slower than the agent). Only when the disk refuses the
    spool too are records dropped, oldest first, past the budget (past four times the
    budget while the database works through the spool again). `spool=False` keeps
    everything in memory instead (unbounded while the database is away).

    With `exit_on_sigterm`, a SIGTERM the application does not handle itself raises
    SystemExit (`Terminated`) in the main thread, so `finally` blocks run, a run it ends is
    stored `cancelled` (reason SIGTERM), and the recorder flushes before the process ends;
    by default the recorder leaves SIGTERM alone (its default action ends the process at
    once, losing what was not yet committed, as kill -9 does).

    While a run is open in this process (opened or attached, not finished), the writer
    refreshes its `updated_at` at least every `heartbeat_interval` seconds, so the server
    can tell a quiet run from one whose process died.

    `notify_url` picks how servers are woken after each commit: None sends Postgres NOTIFY
    inside the batch's transaction; a Redis URL (`redis://host:port/db`) publishes the same
    payload on the same channel after the commit instead (a failed publish is only logged:
    subscribers catch up from Postgres).

    With `langfuse_public_key` and `langfuse_secret_key` (and `langfuse_host`, Langfuse
    Cloud by default), what is recorded is also mirrored to that Langfuse project through
    the `langfuse` SDK, after it is committed here, and each run stores its Langfuse trace
    URL. The mirror never slows or fails recording: it drops what it cannot keep up with.

    Artifacts (`run.artifact(...)`) go to `artifact_store` (`s3://bucket/prefix` with the
    `s3` options, or a directory); by default through the server recorded to, else into the
    embedded server's folder. They upload on a background thread, retried for
    `artifact_retry_for` seconds of outage, then parked on disk beside the spool and
    retried later. A step input or output whose JSON is over `artifact_inline_limit`
    characters is stored as an artifact and the step keeps a small reference to it (None
    keeps every value inline).
    """

    database_url: str | None = None
    server_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    org: str = "default"
    batch_size: int = 512
    flush_interval: float = 0.05
    close_timeout: float = 10.0
    max_queue: int = 100_000
    spool: bool = True
    spool_after: float = 1.0
    spool_dir: Path | None = None
    heartbeat_interval: float = 10.0
    notify_url: str | None = None
    exit_on_sigterm: bool = False
    langfuse_public_key: str | None = None
    langfuse_secret_key: str | None = field(default=None, repr=False)
    langfuse_host: str = LANGFUSE_CLOUD
    artifact_store: str | None = None
    s3: S3Options = field(default_factory=S3Options)
    artifact_inline_limit: int | None = 1024 * 1024
    artifact_retry_for: float = 60.0

    def __post_init__(self) -> None:
        if self.database_url is not None:
            check_database_url(self.database_url)
        if self.server_url is not None:
            check_server_url(self.server_url)
            if self.database_url is not None:
                raise ValueError("give a server URL or a database URL, not both")
            if not self.api_key:
                raise ValueError(
                    "recording to a server needs an API key (api_key= or TRACEWIRE_API_KEY)"
                )
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        if self.close_timeout < 0:
            raise ValueError("close_timeout must not be negative")
        if self.max_queue < self.batch_size:
            raise ValueError("max_queue must be at least batch_size")
        if self.spool_after < 0:
            raise ValueError("spool_after must not be negative")
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive")
        if self.notify_url is not None and not self.notify_url.startswith(_REDIS_SCHEMES):
            raise ValueError("notify_url must be a Redis URL (redis://, rediss://, unix://)")
        if not self.org:
            raise ValueError("org must be a non-empty organization slug")
        if (self.langfuse_public_key is None) != (self.langfuse_secret_key is None):
            raise ValueError("langfuse_public_key and langfuse_secret_key go together")
        if not self.langfuse_host.startswith(("http://", "https://")):
            raise ValueError("langfuse_host must be an http(s) URL")
        if self.artifact_inline_limit is not None and self.artifact_inline_limit < 1:
            raise ValueError("artifact_inline_limit must be positive (or None for no limit)")
        if self.artifact_retry_for < 0:
            raise ValueError("artifact_retry_for must not be negative")
        self.store_config()  # a bad store URL fails here, not in the uploader thread

    @property
    def mirrors_to_langfuse(self) -> bool:
        return self.langfuse_public_key is not None

    def store_config(self) -> StoreConfig:
        """Where artifacts go: `artifact_store`; else, recording to a server, that server
        (which stores them in its own store); else the same local folder the embedded
        server reads by default."""
        if self.artifact_store is not None:
            return StoreConfig(self.artifact_store, self.s3, api_key=self.api_key)
        if self.server_url is not None:
            return StoreConfig(self.server_url, api_key=self.api_key)
        return StoreConfig(str(user_data_path("tracewire") / "artifacts"), self.s3)

    def spool_path(self) -> Path | None:
        """The spool folder for this destination; None without one (or with `spool=False`).

        Spools of different databases live apart, so a replay never crosses them; without a
        database URL (a custom sink) only an explicit `spool_dir` is used, as given."""
        if not self.spool:
            return None
        destination = self.database_url or self.server_url
        if destination is None:
            return self.spool_dir
        base = self.spool_dir or user_data_path("tracewire") / "spool"
        return base / hashlib.sha256(destination.encode()).hexdigest()[:16]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: Any) -> "RecorderSettings":
        """`TRACEWIRE_URL` and `TRACEWIRE_API_KEY` (a server), or `TRACEWIRE_DATABASE_URL`
        (or `DATABASE_URL`) and `TRACEWIRE_ORG` (straight into Postgres),
        `TRACEWIRE_SPOOL_DIR`, `TRACEWIRE_NOTIFY_URL`, `TRACEWIRE_EXIT_ON_SIGTERM`,
        `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` and `LANGFUSE_HOST` (or
        `LANGFUSE_BASE_URL`), `TRACEWIRE_ARTIFACT_STORE`, `TRACEWIRE_S3_*` (see
        `S3Options.from_env`) and `TRACEWIRE_ARTIFACT_INLINE_LIMIT`, then the overrides that
        are not None. An empty variable counts as unset."""
        config = Config(environ=env)
        defaults = cls()
        langfuse_public_key = config("LANGFUSE_PUBLIC_KEY", default=None) or None
        langfuse_secret_key = config("LANGFUSE_SECRET_KEY", default=None) or None
        mirror = langfuse_public_key is not None and langfuse_secret_key is not None
        langfuse_host = config("LANGFUSE_HOST", default=None) or config(
            "LANGFUSE_BASE_URL", default=None
        )
        inline_limit = config(
            "TRACEWIRE_ARTIFACT_INLINE_LIMIT", cast=int, default=defaults.artifact_inline_limit
        )
        spool_dir = config("TRACEWIRE_SPOOL_DIR", default=None)
        server_url = config("TRACEWIRE_URL", default=None) or None
        database_url = None
        if server_url is not None and not is_server_url(server_url):
            database_url, server_url = server_url, None  # a postgresql:// URL: direct
        if server_url is None and database_url is None:
            database_url = (
                config("TRACEWIRE_DATABASE_URL", default=None)
                or config("DATABASE_URL", default=None)
                or None
            )
        settings = cls(
            database_url=database_url,
            server_url=server_url.rstrip("/") if server_url else None,
            api_key=config("TRACEWIRE_API_KEY", default=None) or None,
            org=config("TRACEWIRE_ORG", default=None) or defaults.org,
            spool_dir=Path(spool_dir) if spool_dir else None,
            notify_url=config("TRACEWIRE_NOTIFY_URL", default=None) or None,
            exit_on_sigterm=config("TRACEWIRE_EXIT_ON_SIGTERM", cast=bool, default=False),
            langfuse_public_key=langfuse_public_key if mirror else None,
            langfuse_secret_key=langfuse_secret_key if mirror else None,
            langfuse_host=(langfuse_host or defaults.langfuse_host).rstrip("/"),
            artifact_store=config("TRACEWIRE_ARTIFACT_STORE", default=None) or None,
            s3=S3Options.from_env(env),
            artifact_inline_limit=inline_limit if inline_limit and inline_limit > 0 else None,
        )
        return dataclasses.replace(
            settings, **{name: value for name, value in overrides.items() if value is not None}
        )
