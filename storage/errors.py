"""What the object stores raise, translated from their drivers at the seam (`s3.py` maps
botocore's and aiohttp's errors, `local.py` the OS's, `server.py` a Tracewire server's
answers):

    StorageError
    ├── InvalidKey        a key that could escape its store (`..`, absolute, NUL...); a bug
    ├── ObjectMissing     no object under that key
    ├── ObjectRefused     the store will never take this object (too large...): do not retry
    └── StoreUnavailable  the store did not answer or refused for now: retry later
"""


class StorageError(Exception):
    """Anything an object store raises."""


class InvalidKey(StorageError, ValueError):
    """The key is not one `storage.keys` would make: refused before any I/O."""


class ObjectMissing(StorageError, LookupError):
    """No object is stored under the key."""


class ObjectRefused(StorageError):
    """The store refuses this object for good (a server's size cap): retrying cannot help."""


class StoreUnavailable(StorageError):
    """The store is unreachable, timed out or failed on its side; the operation may succeed
    if retried."""
