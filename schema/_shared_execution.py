"""Execute a live event once for all the subscribers that asked the same thing.

A hundred viewers of one busy run would otherwise each run the same selection set on the
same batch of events: GraphQL execution per subscriber per event was what capped the live
fan-out. Here the subscription resolvers turn a run's seq range into its GraphQL root object
once (`SharedRoots.root_for`), and `SharedEventExecutor` keeps, per root, one execution per
*sharing key*: the root field's selection set (arguments excluded: `afterSeq` only shapes
the source stream), the fragments, the variables that selection set reads, and the caller's
organization. Subscribers with the same key get the same `ExecutionResult`, and
`api.graphql_app` then serialises its data once too.

Nothing depends on a hit: a root built for one subscriber only (a replay page) or evicted
from the bounded memo is simply executed again. A root may be up to a second older than
the subscriber's own read of the same range; the events are the same, and a step's later
state arrives with its later event.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import (
    ExecutionResult,
    FieldNode,
    OperationType,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)
from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from tracewire.resolvers.context import Context

T = TypeVar("T")
SharingKey = tuple[str, str, tuple[tuple[str, str], ...], str]
_Execution = ExecutionResult | asyncio.Future[ExecutionResult]
_NOT_COMPUTED: Any = object()


@dataclass(slots=True)
class _Entry:
    root: object
    built_at: float
    executions: dict[SharingKey, _Execution] = field(default_factory=dict)


class SharedRoots:
    """A bounded memo: what a root shows (a run and a seq range) → the GraphQL root built
    for it, with the executions done on that root. Subscribers that are equally caught up
    ask for the same range, whether their batches were merged or not. An entry serves for
    `max_age` seconds at most: a replay page read later must show the steps as they are
    then, not as they were when a first subscriber read the same range."""

    def __init__(self, capacity: int = 64, max_age: float = 1.0) -> None:
        self._capacity = capacity
        self._max_age = max_age
        self._by_key: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._by_root: dict[int, _Entry] = {}  # id(root); the entry keeps the root alive

    def root_for(self, key: Hashable, build: Callable[[], T]) -> T:
        now = time.monotonic()
        entry = self._by_key.get(key)
        if entry is not None and now - entry.built_at < self._max_age:
            root: T = entry.root  # type: ignore[assignment]
            return root
        if entry is not None:  # too old to stand for a fresh read: build it again
            del self._by_key[key]
            self._by_root.pop(id(entry.root), None)
        root = build()
        entry = _Entry(root, now)
        self._by_key[key] = entry
        self._by_root[id(root)] = entry
        while len(self._by_key) > self._capacity:
            _, evicted = self._by_key.popitem(last=False)
            self._by_root.pop(id(evicted.root), None)
        return root

    def executions(self, root: object) -> dict[SharingKey, _Execution] | None:
        entry = self._by_root.get(id(root))
        return entry.executions if entry is not None and entry.root is root else None


live_roots = SharedRoots()


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, plus: a subscription event whose root came from `live_roots`
    is executed once per sharing key, with fresh DataLoaders (a connection-long loader
    would serve a step's first state forever)."""

    _sharing_key: SharingKey | None = _NOT_COMPUTED

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._sharing_key is _NOT_COMPUTED:
            self._sharing_key = _key_of(self)  # once per subscription; events copy it
        if (found := self._shared_result(payload)) is not None:
            return _Executed(found)  # no per-event copy of the executor for a known result
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = self._shared(self.root_value)
        if shared is None:
            return super().execute_operation(serially)
        key, executions = shared
        found = _usable(executions.get(key))
        if found is None:
            if isinstance(self.context_value, Context):
                self.context_value = self.context_value.for_operation()
            result: Any = super().execute_operation(serially)
            found = asyncio.ensure_future(result) if self.is_awaitable(result) else result
            executions[key] = found
        return _Executed(found).execute_operation()

    def _shared_result(self, root: object) -> _Execution | None:
        shared = self._shared(root)
        return _usable(shared[1].get(shared[0])) if shared is not None else None

    def _shared(self, root: object) -> tuple[SharingKey, dict[SharingKey, _Execution]] | None:
        """This subscription's sharing key and the executions shared on `root`, if any."""
        key = self._sharing_key
        executions = live_roots.executions(root) if key else None
        return (key, executions) if key and executions is not None else None


def _usable(found: _Execution | None) -> _Execution | None:
    if isinstance(found, asyncio.Future) and found.get_loop() is not _running_loop():
        return None  # another event loop's (tests run several servers in one process)
    return found


@dataclass(frozen=True, slots=True)
class _Executed:
    """Stands in for a per-event executor whose result another subscriber already has."""

    result: _Execution

    def execute_operation(self, serially: bool | None = None) -> Any:
        if isinstance(self.result, asyncio.Future):
            # Shielded: one subscriber leaving must not cancel the others' result.
            return _await_shared(asyncio.shield(self.result))
        return self.result


async def _await_shared(result: Awaitable[ExecutionResult]) -> ExecutionResult:
    return await result


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _key_of(executor: Executor[Any]) -> SharingKey | None:
    operation = executor.operation
    context = executor.context_value
    if operation.operation is not OperationType.SUBSCRIPTION or not isinstance(context, Context):
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    root_field = selections[0]
    fragments = executor.fragment_definitions
    shape = print_ast(root_field.selection_set) if root_field.selection_set else ""
    shape += "".join(print_ast(fragment) for fragment in fragments.values())
    coerced = executor.variable_values.coerced
    used = _variables_in(root_field.selection_set, *fragments.values())
    try:
        variables = tuple(sorted((name, repr(coerced.get(name))) for name in used))
    except TypeError:
        return None
    return (root_field.name.value, shape, variables, str(context.caller.org_id))


def _variables_in(*nodes: object) -> set[str]:
    names: set[str] = set()

    class _Collect(Visitor):
        def enter_variable(self, node: VariableNode, *_: object) -> None:
            names.add(node.name.value)

    for node in nodes:
        if node is not None:
            visit(node, _Collect())  # type: ignore[arg-type]
    return names
