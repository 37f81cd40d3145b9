"""The store a `StoreConfig` names."""

from pathlib import Path

from tracewire.storage.base import ObjectStore, ObjectWriter
from tracewire.storage.config import StoreConfig
from tracewire.storage.local import LocalStore


def open_store(config: StoreConfig) -> ObjectStore:
    """`s3://bucket/prefix` opens an `S3Store` (aioboto3 loads only then); anything else is a
    local directory (`file://` allowed). A Tracewire server only takes objects (see
    `open_writer`). Nothing connects until the first operation."""
    if config.is_server:
        raise ValueError(
            f"{config.url} is a Tracewire server, which stores artifacts but does not serve "
            "them by key: give an s3:// URL or a directory"
        )
    if config.is_s3:
        from tracewire.storage.s3 import S3Store

        return S3Store(config)
    url = config.url
    return LocalStore(Path(url.removeprefix("file://")))


def open_writer(config: StoreConfig) -> ObjectWriter:
    """What stores objects for `config`: a `ServerStore` for a Tracewire server, else the
    store `open_store` opens."""
    if config.is_server:
        from tracewire.storage.server import ServerStore

        assert config.api_key is not None  # StoreConfig checked it
        return ServerStore(config.url, config.api_key)
    return open_store(config)
