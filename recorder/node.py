"""`@node("name")` and `stage("name")`: record a function or a block as a node step of the
current run, with its input, output, duration and error."""

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from tracewire.recorder._context import current_run_var
from tracewire.recorder.run import RunHandle
from tracewire.recorder.step import StepHandle

P = ParamSpec("P")
R = TypeVar("R")


def node(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the decorated function (sync or async) as a `node` step.

    The input is the single argument (a LangGraph node's state) or all arguments; the
    output is the return value. An exception fails the step, marks the run failed with
    code `<name>_error` (seed 000's rule) and propagates. Outside a run it does nothing.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                run = current_run_var.get()
                if run is None:
                    return await func(*args, **kwargs)
                with _node_step(run, name, _node_input(args, kwargs)) as step:
                    result = await func(*args, **kwargs)
                    step.output = result
                    return result

            return cast(Callable[P, R], run_async)

        @functools.wraps(func)
        def run_sync(*args: P.args, **kwargs: P.kwargs) -> R:
            run = current_run_var.get()
            if run is None:
                return func(*args, **kwargs)
            with _node_step(run, name, _node_input(args, kwargs)) as step:
                result = func(*args, **kwargs)
                step.output = result
                return result

        return run_sync

    return decorate


@contextlib.contextmanager
def stage(name: str, *, input: Any = None) -> Iterator[StepHandle | None]:
    """Time a block as a node step of the current run (seed 004's stage timer)."""
    run = current_run_var.get()
    if run is None:
        yield None
        return
    with _node_step(run, name, input) as step:
        yield step


@contextlib.contextmanager
def _node_step(run: RunHandle, name: str, input: Any) -> Iterator[StepHandle]:
    step = run.node(name, input=input)
    try:
        with step:
            yield step
    except Exception as exc:
        run.fail(exc, code=f"{name}_error")
        raise


def _node_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) == 1 and not kwargs:
        return args[0]
    if not args:
        return kwargs or None
    return {"args": list(args), "kwargs": kwargs}
