"""Who is calling. The server's auth (`tracewire.api.auth`) makes one from a key; every
read and write below is scoped to its organization."""

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller. Every read is scoped to `org_id`."""

    org_id: uuid.UUID
