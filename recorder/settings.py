"""The recorder's settings: read once (from arguments or the environment), then passed down."""

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_path

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """How the recorder batches, where it writes, and where it spools.

    `batch_size` records wake the writer at once; otherwise it wakes every `flush_interval`
    seconds, which bounds how stale a live trace can be. `close_timeout` bounds the wait at
    close and at interpreter exit; what is not committed by then is spooled.

    The writer keeps at most `max_queue` records in memory (its memory budget). When the
    budget is used, or the database has refused batches for `spool_after` seconds, it
    appends them to a file under `spool_dir` (default: the user data dir, one folder per
    database) and replays them in order once the database takes batches again; a later
    process replays a spool left by one that was killed. `spool=False` keeps everything in
    memory instead (unbounded while the database is away).

    While a run is open in this process (opened or attached, not finished), the writer
    refreshes its `updated_at` at least every `heartbeat_interval` seconds, so the server
    can tell a quiet run from one whose process died.

    `notify_url` picks how servers are woken after each commit: None sends Postgres NOTIFY
    inside the batch's transaction; a Redis URL (`redis://host:port/db`) publishes the same
    payload on the same channel after the commit instead (a failed publish is only logged:
    subscribers catch up from Postgres).
    """

    database_url: str | None = None
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

    def __post_init__(self) -> None:
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

    def spool_path(self) -> Path | None:
        """The spool folder for this destination; None without one (or with `spool=False`).

        Spools of different databases live apart, so a replay never crosses them; without a
        database URL (a custom sink) only an explicit `spool_dir` is used, as given."""
        if not self.spool:
            return None
        if self.database_url is None:
            return self.spool_dir
        base = self.spool_dir or user_data_path("tracewire") / "spool"
        return base / hashlib.sha256(self.database_url.encode()).hexdigest()[:16]

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] = os.environ, **overrides: object
    ) -> "RecorderSettings":
        """`TRACEWIRE_DATABASE_URL` (or `DATABASE_URL`), `TRACEWIRE_ORG` and
        `TRACEWIRE_SPOOL_DIR`, `TRACEWIRE_NOTIFY_URL`, then overrides."""
        values: dict[str, object] = {}
        if url := env.get("TRACEWIRE_DATABASE_URL") or env.get("DATABASE_URL"):
            values["database_url"] = url
        if org := env.get("TRACEWIRE_ORG"):
            values["org"] = org
        if spool_dir := env.get("TRACEWIRE_SPOOL_DIR"):
            values["spool_dir"] = Path(spool_dir)
        if notify_url := env.get("TRACEWIRE_NOTIFY_URL"):
            values["notify_url"] = notify_url
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
