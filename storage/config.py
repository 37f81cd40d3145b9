"""Where artifacts go, as one frozen value shared by the server's and the recorder's
settings (each reads it from its environment once, at its edge)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.config import Config

S3_SCHEME = "s3://"
SERVER_SCHEMES = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach an S3-compatible service. Unset values fall back to botocore's own
    sources (`AWS_ACCESS_KEY_ID`, `~/.aws/config`, an instance role...).

    `endpoint_url` points at MinIO, SeaweedFS, R2...; None is AWS itself."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both the S3 access key id and the secret access key, or neither")
        if self.endpoint_url is not None and not self.endpoint_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("the S3 endpoint must be an http:// or https:// URL")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "S3Options":
        """`TRACEWIRE_S3_ENDPOINT_URL`, `TRACEWIRE_S3_REGION`, `TRACEWIRE_S3_ACCESS_KEY_ID`,
        `TRACEWIRE_S3_SECRET_ACCESS_KEY`."""
        config = Config(environ=env, env_prefix="TRACEWIRE_S3_")  # unset and empty alike
        return cls(
            endpoint_url=config("ENDPOINT_URL", default=None) or None,
            region=config("REGION", default=None) or None,
            access_key_id=config("ACCESS_KEY_ID", default=None) or None,
            secret_access_key=config("SECRET_ACCESS_KEY", default=None) or None,
        )


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """`url` is `s3://bucket/prefix` (with `s3` options), a Tracewire server
    (`http(s)://host:port`, with an `api_key` of the organization the artifacts belong to:
    the recorder's choice when it records over HTTP) or a local directory."""

    url: str
    s3: S3Options = field(default_factory=S3Options)
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("the artifact store must be an s3:// URL, a server or a directory")
        if self.is_s3 and not self.bucket:
            raise ValueError(f"no bucket in the artifact store URL {self.url!r}")
        if self.is_server and not self.api_key:
            raise ValueError(f"storing artifacts through {self.url} needs its API key")

    @property
    def is_s3(self) -> bool:
        return self.url.startswith(S3_SCHEME)

    @property
    def is_server(self) -> bool:
        return self.url.startswith(SERVER_SCHEMES)

    @property
    def bucket(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def prefix(self) -> str:
        """The key prefix inside the bucket, without slashes at either end ('' for none)."""
        return urlsplit(self.url).path.strip("/")
