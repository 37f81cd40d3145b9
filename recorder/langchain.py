"""A LangChain / LangGraph callback handler that records into Tracewire.

    handler = TracewireCallbackHandler(rec, agent="support-bot")
    graph.invoke(state, config={"callbacks": [handler], "configurable": {"thread_id": "t1"}})

One invocation of the outermost runnable is one run (its `thread_id` becomes the run's
conversation id); nodes, chat models, tools and retrievers inside it become a step tree.
"""

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from tracewire.db.enums import RunStatus, StepType
from tracewire.recorder import _lc_values as values
from tracewire.recorder.prices import DEFAULT_PRICES, ModelPrice, cost_of
from tracewire.recorder.recorder import Recorder
from tracewire.recorder.run import RunHandle
from tracewire.recorder.step import StepHandle

try:
    from langgraph.errors import GraphBubbleUp, GraphInterrupt
except ImportError:  # pragma: no cover - langgraph is optional for plain LangChain users
    GraphBubbleUp = GraphInterrupt = ()  # type: ignore[assignment,misc]

_HIDDEN = "langsmith:hidden"


@dataclass(slots=True)
class _Open:
    """A LangChain run in progress. `step` is None for the root (it is the Tracewire run) and
    for hidden runs; `anchor` is the step that children of this LangChain run hang under."""

    run: RunHandle
    step: StepHandle | None
    anchor: StepHandle | None
    is_root: bool
    started: float
    first_token: float | None = None
    tokens: int = 0


class TracewireCallbackHandler(BaseCallbackHandler):
    """Records LangChain callbacks through `recorder`. Every callback only queues records
    (`run_inline`: called on the agent's own thread or event loop, never a thread pool)."""

    run_inline = True
    raise_error = False

    def __init__(
        self,
        recorder: Recorder,
        *,
        agent: str | None = None,
        user_id: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        prices: Mapping[str, ModelPrice] = DEFAULT_PRICES,
    ) -> None:
        self.recorder = recorder
        self.agent = agent
        self.user_id = user_id
        self.tags = tags
        self.metadata = metadata
        self.prices = prices
        self._open: dict[uuid.UUID, _Open] = {}
        self._interrupted: set[uuid.UUID] = set()

    # -- chains and graph nodes --------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        metadata = metadata or {}
        label = (
            name or metadata.get("langgraph_node") or values.serialized_name(serialized) or "chain"
        )
        payload = values.node_payload(metadata)
        self._start(run_id, parent_run_id, tags, metadata, label, StepType.NODE, inputs, payload)

    def on_chain_end(self, outputs: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id, values.plain(outputs))

    def on_chain_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        if isinstance(error, GraphBubbleUp):
            # An interrupt (human in the loop) or a parent command: control flow, not failure.
            entry = self._open.get(run_id)
            if entry is not None and isinstance(error, GraphInterrupt):
                self._interrupted.add(entry.run.id)
            self._end(run_id, None, payload={"interrupted": repr(error)})
        else:
            self._fail(run_id, error)

    # -- LLMs and chat models ----------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        prompt = [values.message_dict(m) for batch in messages for m in batch]
        self._start_llm(serialized, prompt, run_id, parent_run_id, tags, metadata, name, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        prompt = values.first_text(prompts)
        self._start_llm(serialized, prompt, run_id, parent_run_id, tags, metadata, name, kwargs)

    def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, run_id: uuid.UUID, **kwargs: Any
    ) -> None:
        entry = self._open.get(run_id)
        if entry is not None:
            if entry.first_token is None:
                entry.first_token = time.perf_counter()
            entry.tokens += 1

    def on_llm_end(self, response: LLMResult, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        entry = self._open.get(run_id)
        if entry is None or entry.step is None:
            return
        input_tokens, output_tokens = values.usage(response)
        model = values.response_model(response) or entry.step.model
        payload: dict[str, Any] = {}
        if entry.first_token is not None:
            payload["time_to_first_token_ms"] = (entry.first_token - entry.started) * 1000
            payload["streamed_chunks"] = entry.tokens
        self._end(
            run_id,
            values.llm_output_value(response),
            payload=payload or None,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=cost_of(model, input_tokens, output_tokens, self.prices),
        )

    def on_llm_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    # -- tools and retrievers ----------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        tool = kwargs.get("name") or values.serialized_name(serialized) or "tool"
        arguments = inputs if inputs is not None else input_str
        payload = {"tool_name": tool, "arguments": arguments}
        if call_id := kwargs.get("tool_call_id"):
            payload["tool_call_id"] = call_id
        self._start(
            run_id, parent_run_id, tags, metadata, tool, StepType.TOOL_CALL, arguments, payload
        )

    def on_tool_end(self, output: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id, values.tool_output(output))

    def on_tool_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        label = name or values.serialized_name(serialized) or "retriever"
        payload = {"tool_name": label, "arguments": query, "kind": "retriever"}
        self._start(
            run_id, parent_run_id, tags, metadata, label, StepType.TOOL_CALL, query, payload
        )

    def on_retriever_end(
        self, documents: Sequence[Any], *, run_id: uuid.UUID, **kwargs: Any
    ) -> None:
        self._end(run_id, values.plain(list(documents)))

    def on_retriever_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    # -- the tree ------------------------------------------------------------------------

    def _start_llm(
        self,
        serialized: dict[str, Any] | None,
        prompt: Any,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        name: str | None,
        kwargs: dict[str, Any],
    ) -> None:
        metadata = metadata or {}
        params = kwargs.get("invocation_params")
        kw = (serialized or {}).get("kwargs")
        model = values.model_name(params, metadata, kw if isinstance(kw, dict) else None)
        label = name or model or values.serialized_name(serialized) or "llm"
        vendor = metadata.get("ls_provider")
        self._start(
            run_id, parent_run_id, tags, metadata, label, StepType.LLM_CALL, prompt, None,
            model=model, vendor=vendor if isinstance(vendor, str) else None,
        )  # fmt: skip

    def _start(
        self,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None,
        tags: list[str] | None,
        metadata: Mapping[str, Any] | None,
        name: str,
        type: StepType,
        input: Any,
        payload: dict[str, Any] | None,
        *,
        model: str | None = None,
        vendor: str | None = None,
    ) -> None:
        now = time.perf_counter()
        parent = self._open.get(parent_run_id) if parent_run_id is not None else None
        if parent is None:
            run = self._open_run(name, input, metadata or {})
            if type == StepType.NODE:
                self._open[run_id] = _Open(run, None, None, True, now)
                return
            anchor = None
        else:
            run, anchor = parent.run, parent.anchor
            if tags and _HIDDEN in tags:
                self._open[run_id] = _Open(run, None, anchor, False, now)
                return
        step = run.step(
            name, type=type, input=values.plain(input), parent=anchor, model=model,
            vendor=vendor, payload=payload,
        )  # fmt: skip
        self._open[run_id] = _Open(run, step, step, parent is None, now)

    def _open_run(self, name: str, input: Any, metadata: Mapping[str, Any]) -> RunHandle:
        thread = metadata.get("thread_id") or metadata.get("conversation_id")
        return self.recorder.run(
            self.agent or name,
            input=values.plain(input),
            user_id=self.user_id,
            conversation_id=None if thread is None else str(thread),
            metadata=self.metadata,
            tags=self.tags,
        )

    def _end(self, run_id: uuid.UUID, output: Any, **step_fields: Any) -> None:
        entry = self._open.pop(run_id, None)
        if entry is None:
            return
        if entry.step is not None:
            entry.step.end(output, **step_fields)
        if entry.is_root:
            # A graph paused by `interrupt()` ends normally; resuming it is a new invocation,
            # hence a new run, and this one stays partial.
            interrupted = entry.run.id in self._interrupted
            self._interrupted.discard(entry.run.id)
            status = RunStatus.PARTIAL if interrupted else RunStatus.COMPLETED
            entry.run.finish(status, output=output)

    def _fail(self, run_id: uuid.UUID, error: BaseException) -> None:
        entry = self._open.pop(run_id, None)
        if entry is None:
            return
        if entry.step is not None:
            entry.step.fail(error)
        if entry.is_root:
            entry.run.fail(error)
