"""Signed download URLs for the server's artifact route: a browser's `<img src>` cannot
send an Authorization header, so the URL carries its own short-lived proof.

The signature is HMAC-SHA256 over the artifact id, its organization and the expiry, so a
URL opens one artifact of one org until it expires, and nothing else.
"""

import hashlib
import hmac
import logging
import os
import secrets
import time
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

SECRET_FILE = "artifact-signing.key"
# Expiries are rounded up to this many seconds, so the same artifact gets the same URL for
# a while and browsers can cache it.
_ROUND_S = 60


class UrlSigner:
    def __init__(self, secret: bytes, ttl: int) -> None:
        if len(secret) < 16:
            raise ValueError("the artifact signing secret must have at least 16 bytes")
        self._secret = secret
        self.ttl = ttl

    def expiry(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return (int(now) + self.ttl + _ROUND_S - 1) // _ROUND_S * _ROUND_S

    def sign(self, artifact_id: uuid.UUID, org_id: uuid.UUID, expires: int) -> str:
        message = f"{artifact_id}:{org_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(
        self,
        artifact_id: uuid.UUID,
        org_id: uuid.UUID,
        expires: int,
        signature: str,
        now: float | None = None,
    ) -> bool:
        now = time.time() if now is None else now
        if expires < now:
            return False
        return hmac.compare_digest(self.sign(artifact_id, org_id, expires), signature)


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else the one kept in `data_dir` (made on first start, so
    URLs stay valid across restarts)."""
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        logger.info("made a new artifact signing secret in %s", path)
    for _ in range(50):  # another server may be writing it right now
        secret = path.read_text().strip()
        if secret:
            return secret.encode()
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it, or set TRACEWIRE_ARTIFACT_SIGNING_SECRET")
