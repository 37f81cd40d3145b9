"""A sink that also hands each batch, once committed, to a follower (the Langfuse mirror).

The follower runs on the writer thread right after the commit, so it must only queue: a
follower that raised or waited would stall the writer."""

from collections.abc import Callable

from tracewire.recorder._records import Batch
from tracewire.recorder.sink import Sink


class TeeSink:
    def __init__(self, inner: Sink, follower: Callable[[Batch], None]) -> None:
        self.inner = inner
        self._follower = follower

    def write(self, batch: Batch) -> None:
        self.inner.write(batch)
        self._follower(batch)

    def heartbeat(self, run_ids: list[str]) -> None:
        beat = getattr(self.inner, "heartbeat", None)
        if beat is not None:
            beat(run_ids)

    def close(self) -> None:
        self.inner.close()
