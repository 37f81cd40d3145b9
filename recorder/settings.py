"""The recorder's settings: read once (from arguments or the environment), then passed down."""

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """How the recorder batches and where it writes.

    `batch_size` records wake the writer at once; otherwise it wakes every `flush_interval`
    seconds, which bounds how stale a live trace can be. `close_timeout` bounds the wait at
    close and at interpreter exit.
    """

    database_url: str | None = None
    org: str = "default"
    batch_size: int = 512
    flush_interval: float = 0.05
    close_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        if self.close_timeout < 0:
            raise ValueError("close_timeout must not be negative")
        if not self.org:
            raise ValueError("org must be a non-empty organization slug")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] = os.environ, **overrides: object
    ) -> "RecorderSettings":
        """`TRACEWIRE_DATABASE_URL` (or `DATABASE_URL`) and `TRACEWIRE_ORG`, then overrides."""
        values: dict[str, object] = {}
        if url := env.get("TRACEWIRE_DATABASE_URL") or env.get("DATABASE_URL"):
            values["database_url"] = url
        if org := env.get("TRACEWIRE_ORG"):
            values["org"] = org
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
