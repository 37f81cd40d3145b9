"""Object storage for artifacts: one small `ObjectStore` protocol, with `LocalStore` (the
embedded default) and `S3Store` (any S3-compatible service) behind it."""

from storage.base import CHUNK_BYTES, Download, ObjectStore
from storage.config import S3Options, StoreConfig
from storage.errors import InvalidKey, ObjectMissing, StorageError, StoreUnavailable
from storage.from_url import open_store
from storage.keys import artifact_key, check_key, safe_name
from storage.local import LocalStore
from storage.media import guess_mime, is_inline_safe

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
