"""The committer thread: a writer's sink calls run here, one at a time, so that the writer
thread never waits on a sink (a call stuck in a hung database delays no spooling and no
exit); and the fork gate each call is made inside."""

import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class ForkGate:
    """Each writer thread holds its gate while it is inside its sink, and `fork` waits for
    all of them: a child must not start with a lock (OpenSSL's, the driver's) that a writer
    thread held at the fork, since nothing in the child would release it and the child's
    own writer would hang on it. A fork waits for at most one sink call per writer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        _gates.add(self)


_gates: "weakref.WeakSet[ForkGate]" = weakref.WeakSet()
_held: list[ForkGate] = []


def _close_gates() -> None:
    _held[:] = list(_gates)
    for gate in _held:
        gate.lock.acquire()


def _open_gates() -> None:
    for gate in _held:
        gate.lock.release()
    _held.clear()


os.register_at_fork(before=_close_gates, after_in_parent=_open_gates, after_in_child=_open_gates)


_Job = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]


class Committer:
    """Runs the sink's calls on a thread of its own, one at a time, each inside the fork
    gate: while a batch is on its way to the database or the server, the writer thread
    prepares the next one (half of a batch's time is our Python, the other half waiting)."""

    def __init__(self, gate: ForkGate) -> None:
        self._gate = gate
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tracewire-committer", daemon=True)
        self._thread.start()

    def start(self, call: Callable[..., Any], *args: Any) -> "Future[Any]":
        done: Future[Any] = Future()
        self._jobs.put((call, args, done))
        return done

    def run(self, call: Callable[..., Any], *args: Any) -> Any:
        return self.start(call, *args).result()

    def stop(self, wait: float) -> None:
        self._jobs.put(None)
        self._thread.join(wait)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, args, done = job
            try:
                with self._gate.lock:
                    result = call(*args)
            except BaseException as exc:  # handed to the writer, which decides
                done.set_exception(exc)
            else:
                done.set_result(result)
