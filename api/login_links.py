"""The one-time tokens of web UI login links (see api/web_login.py for the exchange).

Kept apart from the routes so that `tracewire serve` can issue one without importing the
GraphQL app first.
"""

import secrets
import time
from collections.abc import Callable

from tracewire.api.keys import hash_secret

LOGIN_TOKEN_TTL = 15 * 60.0
WEB_KEY_NAME = "web sign-in"


class LoginLinks:
    """The one-time tokens of one server process, each good for one sign-in into `org`."""

    def __init__(
        self,
        org: str,
        *,
        ttl: float = LOGIN_TOKEN_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not org:
            raise ValueError("a login link needs an organization")
        self.org = org
        self._ttl = ttl
        self._clock = clock
        self._pending: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        self._pending[hash_secret(token)] = self._clock() + self._ttl
        return token

    def redeem(self, token: str) -> bool:
        """True once for a token issued here and not expired; False ever after."""
        expires = self._pending.pop(hash_secret(token), None)
        return expires is not None and self._clock() < expires
