"""Object storage for artifacts: one small `ObjectStore` protocol, with `LocalStore` (the
embedded default) and `S3Store` (any S3-compatible service) behind it."""

from tracewire.storage.base import CHUNK_BYTES, Download, ObjectStore
from tracewire.storage.config import S3Options, StoreConfig
from tracewire.storage.errors import InvalidKey, ObjectMissing, StorageError, StoreUnavailable
from tracewire.storage.from_url import open_store
from tracewire.storage.keys import artifact_key, check_key, safe_name
from tracewire.storage.local import LocalStore
from tracewire.storage.media import guess_mime, is_inline_safe

__all__ = [
    "CHUNK_BYTES",
    "Download",
    "InvalidKey",
    "LocalStore",
    "ObjectMissing",
    "ObjectStore",
    "S3Options",
    "StorageError",
    "StoreConfig",
    "StoreUnavailable",
    "artifact_key",
    "check_key",
    "guess_mime",
    "is_inline_safe",
    "open_store",
    "safe_name",
]
