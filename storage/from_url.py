"""The store a `StoreConfig` names."""

from pathlib import Path

from storage.base import ObjectStore
from storage.config import StoreConfig
from storage.local import LocalStore


def open_store(config: StoreConfig) -> ObjectStore:
    """`s3://bucket/prefix` opens an `S3Store` (aioboto3 loads only then); anything else is a
    local directory (`file://` allowed). Nothing connects until the first operation."""
    if config.is_s3:
        from storage.s3 import S3Store

        return S3Store(config)
    url = config.url
    return LocalStore(Path(url.removeprefix("file://")))
