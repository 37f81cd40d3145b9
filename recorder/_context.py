"""Which run and which step the current code is inside (per thread and per asyncio task)."""

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracewire.recorder.run import RunHandle
    from tracewire.recorder.step import StepHandle

current_run_var: ContextVar["RunHandle | None"] = ContextVar("tracewire_run", default=None)
current_step_var: ContextVar["StepHandle | None"] = ContextVar("tracewire_step", default=None)


def current_run() -> "RunHandle | None":
    """The run the calling code is recording into, if any."""
    return current_run_var.get()
