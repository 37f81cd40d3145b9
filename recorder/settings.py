"""The recorder's settings: read once (from arguments or the environment), then passed down."""

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_path

from storage.config import S3Options, StoreConfig

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
LANGFUSE_CLOUD = "https://cloud.langfuse.com"


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

    With `langfuse_public_key` and `langfuse_secret_key` (and `langfuse_host`, Langfuse
    Cloud by default), what is recorded is also mirrored to that Langfuse project through
    the `langfuse` SDK, after it is committed here, and each run stores its Langfuse trace
    URL. The mirror never slows or fails recording: it drops what it cannot keep up with.

    Artifacts (`run.artifact(...)`) go to `artifact_store` (`s3://bucket/prefix` with the
    `s3` options, or a directory; by default the embedded server's folder). They upload on
    a background thread, retried for `artifact_retry_for` seconds of outage, then parked
    on disk beside the spool and retried later. A step input or output whose JSON is over
    `artifact_inline_limit` characters is stored as an artifact and the step keeps a small
    reference to it (None keeps every value inline).
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
    langfuse_public_key: str | None = None
    langfuse_secret_key: str | None = field(default=None, repr=False)
    langfuse_host: str = LANGFUSE_CLOUD
    artifact_store: str | None = None
    s3: S3Options = field(default_factory=S3Options)
    artifact_inline_limit: int | None = 1024 * 1024
    artifact_retry_for: float = 60.0

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
        """Where artifacts go: `artifact_store`, else the same local folder the embedded
        server reads by default."""
        url = self.artifact_store or str(user_data_path("tracewire") / "artifacts")
        return StoreConfig(url, self.s3)

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
        `TRACEWIRE_SPOOL_DIR`, `TRACEWIRE_NOTIFY_URL`, `LANGFUSE_PUBLIC_KEY`,
        `LANGFUSE_SECRET_KEY` and `LANGFUSE_HOST` (or `LANGFUSE_BASE_URL`),
        `TRACEWIRE_ARTIFACT_STORE`, `TRACEWIRE_S3_*` (see `S3Options.from_env`) and
        `TRACEWIRE_ARTIFACT_INLINE_LIMIT`, then overrides."""
        values: dict[str, object] = {}
        if url := env.get("TRACEWIRE_DATABASE_URL") or env.get("DATABASE_URL"):
            values["database_url"] = url
        if org := env.get("TRACEWIRE_ORG"):
            values["org"] = org
        if spool_dir := env.get("TRACEWIRE_SPOOL_DIR"):
            values["spool_dir"] = Path(spool_dir)
        if notify_url := env.get("TRACEWIRE_NOTIFY_URL"):
            values["notify_url"] = notify_url
        if env.get("LANGFUSE_PUBLIC_KEY") and env.get("LANGFUSE_SECRET_KEY"):
            values["langfuse_public_key"] = env["LANGFUSE_PUBLIC_KEY"]
            values["langfuse_secret_key"] = env["LANGFUSE_SECRET_KEY"]
            if host := env.get("LANGFUSE_HOST") or env.get("LANGFUSE_BASE_URL"):
                values["langfuse_host"] = host.rstrip("/")
        if store := env.get("TRACEWIRE_ARTIFACT_STORE"):
            values["artifact_store"] = store
        values["s3"] = S3Options.from_env(env)
        if limit := env.get("TRACEWIRE_ARTIFACT_INLINE_LIMIT"):
            values["artifact_inline_limit"] = int(limit) if int(limit) > 0 else None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
