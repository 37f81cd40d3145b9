"""The store a `StoreConfig` names."""

from pathlib import Path

from tracewire.storage.base import ObjectStore
from tracewire.storage.config import StoreConfig
from tracewire.storage.local import LocalStore


def open_store(config: StoreConfig) -> ObjectStore:
    """`s3://bucket/prefix` opens an `S3Store` (aioboto3 loads only then); anything else is a
    local directory (`file://` allowed). Nothing connects until the first operation."""
    if config.is_s3:
        from tracewire.storage.s3 import S3Store

        return S3Store(config)
    url = config.url
    return LocalStore(Path(url.removeprefix("file://")))
