"""Object storage for artifacts: one small `ObjectStore` protocol, with `LocalStore` (the
embedded default) and `S3Store` (any S3-compatible service) behind it, and an
`ObjectWriter`, `ServerStore`, that stores through a Tracewire server (`storage.s3` and
`storage.server` load only when opened)."""

from tracewire.storage.base import CHUNK_BYTES, Download, ObjectStore, ObjectWriter
from tracewire.storage.config import S3Options, StoreConfig
from tracewire.storage.errors import (
    InvalidKey,
    ObjectMissing,
    ObjectRefused,
    StorageError,
    StoreUnavailable,
)
from tracewire.storage.from_url import open_store, open_writer
from tracewire.storage.keys import artifact_key, artifact_name, check_key, safe_name, with_org
from tracewire.storage.local import LocalStore
from tracewire.storage.media import guess_mime, is_inline_safe

__all__ = [
    "CHUNK_BYTES",
    "Download",
    "InvalidKey",
    "LocalStore",
    "ObjectMissing",
    "ObjectRefused",
    "ObjectStore",
    "ObjectWriter",
    "S3Options",
    "StorageError",
    "StoreConfig",
    "StoreUnavailable",
    "artifact_key",
    "artifact_name",
    "check_key",
    "guess_mime",
    "is_inline_safe",
    "open_store",
    "open_writer",
    "safe_name",
    "with_org",
]
