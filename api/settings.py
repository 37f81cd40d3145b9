"""The server's settings: read once from the environment and CLI flags, then passed down.

Nothing below `api.cli` reads `os.environ`.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs
from starlette.config import Config

from tracewire.storage.config import SERVER_SCHEMES, S3Options, StoreConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Where `tracewire serve` offers its embedded PostgreSQL to agents (127.0.0.1 only).
DEFAULT_EMBEDDED_PORT = 54320
# OTLP/gRPC's registered port, where OpenTelemetry SDKs and collectors send by default.
DEFAULT_GRPC_PORT = 4317


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("tracewire", appauthor=False))


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything `tracewire serve` needs.

    `database_url` None means: start the embedded Postgres under `data_dir`.
    `anonymous_org` names the organization a request without an API key reads; None (the
    default) makes a key mandatory. `notify_url` (redis://) makes Redis pub/sub the live
    wake-up transport instead of Postgres NOTIFY. A running run the recorder has not
    touched (no step, no heartbeat) for `stall_after` seconds is marked stalled. Ingestion
    (the native endpoint, OTLP) queues at most `ingest_queue_records` records in memory;
    past that, senders are told to retry later (429). With
    `login_org`, the server prints a one-time web UI login link into that organization.
    The embedded Postgres is offered to agents in other processes on 127.0.0.1:
    `embedded_port` (0: not offered). OTLP over gRPC listens on `host`:`grpc_port` (0: off);
    None, the default, is `DEFAULT_GRPC_PORT` when it is free (another collector holding it
    only turns gRPC off, with a warning), while a port given explicitly must be free.

    Artifacts live in `artifact_store` (`s3://bucket/prefix` with the `s3` options, or a
    directory; by default `data_dir/artifacts`). Download URLs handed out in GraphQL last
    `artifact_url_ttl` seconds: presigned S3 URLs, or server URLs signed with
    `artifact_signing_secret` (by default a random one kept in `data_dir`; servers behind
    one load balancer need the same one). Recorders that record over HTTP upload artifacts
    through the server, each at most `artifact_max_upload_bytes`.

    A request body elsewhere (`/graphql`, the web login, Langfuse's legacy ingestion) may
    have at most `max_request_bytes`; the recorder's and OTLP ingestion keep their own caps.
    """

    database_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    artifact_store: str | None = None
    anonymous_org: str | None = None
    demo: bool = False
    demo_runs_per_second: float = 2.0
    notify_url: str | None = None
    stall_after: float = 120.0
    login_org: str | None = None
    embedded_port: int = DEFAULT_EMBEDDED_PORT
    grpc_port: int | None = None
    s3: S3Options = field(default_factory=S3Options)
    artifact_url_ttl: int = 600
    ingest_queue_records: int = 100_000
    artifact_signing_secret: str | None = field(default=None, repr=False)
    artifact_max_upload_bytes: int = 5 * 1024**3
    max_request_bytes: int = 2 * 1024**2

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, got {self.port}")
        if not 0 <= self.embedded_port < 65536:
            raise ValueError(
                f"the embedded database port must be 0-65535, got {self.embedded_port}"
            )
        if self.grpc_port is not None and not 0 <= self.grpc_port < 65536:
            raise ValueError(f"the OTLP/gRPC port must be 0-65535 or off, got {self.grpc_port}")
        if self.grpc_port == self.port:
            raise ValueError(f"the OTLP/gRPC port must differ from the HTTP port {self.port}")
        if self.database_url is not None and not self.database_url.startswith(
            ("postgresql", "postgres:")
        ):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        if self.demo_runs_per_second <= 0:
            raise ValueError("demo runs per second must be positive")
        if self.notify_url is not None and not self.notify_url.startswith(
            ("redis://", "rediss://")
        ):
            raise ValueError("TRACEWIRE_NOTIFY_URL must be a redis:// URL (or unset for Postgres)")
        if not 0 < self.artifact_url_ttl <= 7 * 24 * 3600:
            raise ValueError("artifact URLs must live 1 s to 7 days (S3's limit)")
        if self.artifact_store_url.startswith(SERVER_SCHEMES):
            raise ValueError("the server's artifact store must be an s3:// URL or a directory")
        StoreConfig(self.artifact_store_url, self.s3)  # a bad store URL fails at startup
        if self.artifact_max_upload_bytes < 1:
            raise ValueError("the artifact upload cap must be a positive number of bytes")
        if self.max_request_bytes < 1024:
            raise ValueError("the request body cap must be at least 1024 bytes")
        if self.ingest_queue_records < 1:
            raise ValueError("the ingest queue must hold at least one record")
        if self.stall_after <= 0:
            raise ValueError("stall_after must be a positive number of seconds")
        if self.login_org is not None and not self.login_org.strip():
            raise ValueError("the login link's organization must not be empty")

    @property
    def artifact_store_url(self) -> str:
        """Where artifacts go: an `s3://bucket/prefix` URL or a local directory."""
        return self.artifact_store or str(self.data_dir / "artifacts")

    @property
    def artifact_store_config(self) -> StoreConfig:
        return StoreConfig(self.artifact_store_url, self.s3)

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def with_database(self, database_url: str) -> "ServerSettings":
        return replace(self, database_url=database_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: Any) -> "ServerSettings":
        """The environment (an empty variable counts as unset), then the overrides that are
        not None (the CLI flags that were given)."""
        config = Config(environ=env)
        defaults = cls()
        data_dir = config("TRACEWIRE_DATA_DIR", default=None)
        settings = cls(
            database_url=config("DATABASE_URL", default=None) or None,
            data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(),
            host=config("TRACEWIRE_HOST", default=None) or defaults.host,
            port=config("TRACEWIRE_PORT", cast=int, default=defaults.port),
            artifact_store=config("TRACEWIRE_ARTIFACT_STORE", default=None) or None,
            anonymous_org=config("TRACEWIRE_ANONYMOUS_ORG", default=None) or None,
            notify_url=config("TRACEWIRE_NOTIFY_URL", default=None) or None,
            stall_after=config("TRACEWIRE_STALL_AFTER", cast=float, default=defaults.stall_after),
            login_org=config("TRACEWIRE_LOGIN_ORG", default=None) or None,
            embedded_port=config(
                "TRACEWIRE_EMBEDDED_PORT", cast=port_or_off, default=defaults.embedded_port
            ),
            grpc_port=config("TRACEWIRE_GRPC_PORT", cast=port_or_off, default=None),
            s3=S3Options.from_env(env),
            ingest_queue_records=config(
                "TRACEWIRE_INGEST_QUEUE_RECORDS", cast=int, default=defaults.ingest_queue_records
            ),
            artifact_url_ttl=config(
                "TRACEWIRE_ARTIFACT_URL_TTL", cast=int, default=defaults.artifact_url_ttl
            ),
            artifact_signing_secret=(
                config("TRACEWIRE_ARTIFACT_SIGNING_SECRET", default=None) or None
            ),
            artifact_max_upload_bytes=config(
                "TRACEWIRE_ARTIFACT_MAX_UPLOAD_BYTES",
                cast=int,
                default=defaults.artifact_max_upload_bytes,
            ),
            max_request_bytes=config(
                "TRACEWIRE_MAX_REQUEST_BYTES", cast=int, default=defaults.max_request_bytes
            ),
        )
        return replace(
            settings, **{name: value for name, value in overrides.items() if value is not None}
        )


def port_or_off(value: str | int) -> int:
    """A port number; `off` is 0, for none."""
    return 0 if str(value).lower() == "off" else int(value)
