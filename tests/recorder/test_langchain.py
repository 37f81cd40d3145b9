"""The LangChain/LangGraph callback handler: real graphs, fake chat models, a memory sink."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt

from tests._records import RunClosed, RunOpened, StepEnded, StepStarted, records
from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.recorder import (
    MemorySink,
    ModelPrice,
    Recorder,
    RecorderSettings,
    TracewireCallbackHandler,
)

MODEL = "gpt-4o-mini"


@tool
def lookup(query: str) -> str:
    """Look an order up."""
    return f"order {query} shipped"


def _replies() -> Iterator[AIMessage]:
    meta = {"model_name": MODEL}
    usage1 = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
    usage2 = {"input_tokens": 200, "output_tokens": 10, "total_tokens": 210}
    call = {"name": "lookup", "args": {"query": "42"}, "id": "call-1"}
    yield AIMessage("", tool_calls=[call], usage_metadata=usage1, response_metadata=meta)
    yield AIMessage("It shipped.", usage_metadata=usage2, response_metadata=meta)


def _agent_graph(stream: bool = False) -> CompiledStateGraph[Any, Any, Any, Any]:
    replies = iter([AIMessage("It shipped, says the tracker.")]) if stream else _replies()
    model = GenericFakeChatModel(messages=replies)

    def agent(state: MessagesState) -> dict[str, Any]:
        if stream:
            chunks = list(model.stream(state["messages"]))
            return {"messages": [AIMessage(str(sum(chunks[1:], chunks[0]).content))]}
        return {"messages": [model.invoke(state["messages"])]}

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([lookup]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile()


def _recorder(sink: MemorySink) -> Recorder:
    return Recorder(sink=sink, settings=RecorderSettings(org="acme", spool=False))


def _recorded(rec: Recorder, sink: MemorySink) -> tuple[list[Any], dict[uuid.UUID, Any]]:
    assert rec.flush(5)
    views = records(sink)
    steps = {r.step_id: r for r in views if isinstance(r, StepStarted)}
    ends = {r.step_id: r for r in views if isinstance(r, StepEnded)}
    return views, {sid: (start, ends.get(sid)) for sid, start in steps.items()}


def _tree(steps: dict[uuid.UUID, Any]) -> list[tuple[str, str, str | None]]:
    """(type, name, parent name) of every step, in start order."""
    names = {sid: start.name for sid, (start, _) in steps.items()}
    return [
        (start.type, start.name, names.get(start.parent_id) if start.parent_id else None)
        for start, _ in steps.values()
    ]


def _check_agent_run(rec: Recorder, sink: MemorySink) -> None:
    views, steps = _recorded(rec, sink)
    opened = [r for r in views if isinstance(r, RunOpened)]
    closed = [r for r in views if isinstance(r, RunClosed)]
    assert [(r.agent, r.conversation_id) for r in opened] == [("support-bot", "thread-7")]
    assert [r.status for r in closed] == [RunStatus.COMPLETED]
    assert _tree(steps) == [
        ("node", "agent", None),
        ("llm_call", "GenericFakeChatModel", "agent"),
        ("node", "route", "agent"),
        ("node", "tools", None),
        ("tool_call", "lookup", "tools"),
        ("node", "agent", None),
        ("llm_call", "GenericFakeChatModel", "agent"),
        ("node", "route", "agent"),
    ]
    llm_ends = [end for start, end in steps.values() if start.type == StepType.LLM_CALL]
    assert [(e.model, e.input_tokens, e.output_tokens) for e in llm_ends] == [
        (MODEL, 100, 20),
        (MODEL, 200, 10),
    ]
    assert llm_ends[0].cost == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)
    tool_start, tool_end = next((s, e) for s, e in steps.values() if s.type == StepType.TOOL_CALL)
    assert tool_start.input == {"query": "42"}
    assert tool_end.output == "order 42 shipped"
    assert all(end is not None and end.status == StepStatus.COMPLETED for _, end in steps.values())


def test_a_graph_invocation_is_one_run_whose_nodes_llm_calls_and_tools_form_a_tree() -> None:
    sink = MemorySink()
    with _recorder(sink) as rec:
        handler = TracewireCallbackHandler(rec, agent="support-bot")
        config: RunnableConfig = {"callbacks": [handler], "configurable": {"thread_id": "thread-7"}}
        _agent_graph().invoke({"messages": [HumanMessage("where is 42?")]}, config)
        _check_agent_run(rec, sink)


async def test_an_async_graph_invocation_records_the_same_tree() -> None:
    sink = MemorySink()
    with _recorder(sink) as rec:
        handler = TracewireCallbackHandler(rec, agent="support-bot")
        config: RunnableConfig = {"callbacks": [handler], "configurable": {"thread_id": "thread-7"}}
        await _agent_graph().ainvoke({"messages": [HumanMessage("where is 42?")]}, config)
        _check_agent_run(rec, sink)


def test_each_invocation_is_its_own_run_and_a_thread_groups_them() -> None:
    sink = MemorySink()
    with _recorder(sink) as rec:
        config: RunnableConfig = {
            "callbacks": [TracewireCallbackHandler(rec)],
            "metadata": {"thread_id": "t"},
        }
        echo = RunnableLambda(lambda x: x, name="echo")
        echo.invoke(1, config)
        echo.invoke(2, config)
        views, _ = _recorded(rec, sink)
    opened = [r for r in views if isinstance(r, RunOpened)]
    assert [(r.agent, r.conversation_id, r.input) for r in opened] == [
        ("echo", "t", 1),
        ("echo", "t", 2),
    ]
    assert len({r.run_id for r in opened}) == 2


def test_an_error_inside_a_node_fails_the_node_and_the_run_with_its_traceback() -> None:
    def parse(state: MessagesState) -> dict[str, Any]:
        raise ValueError("unparseable order id")

    graph = StateGraph(MessagesState)
    graph.add_node("parse", parse)
    graph.add_edge(START, "parse")
    sink = MemorySink()
    with _recorder(sink) as rec:
        with pytest.raises(ValueError):
            graph.compile().invoke({"messages": []}, {"callbacks": [TracewireCallbackHandler(rec)]})
        views, steps = _recorded(rec, sink)
    ((start, end),) = steps.values()
    assert (start.name, end.status, end.error_code) == ("parse", StepStatus.FAILED, "ValueError")
    assert 'raise ValueError("unparseable order id")' in end.error_traceback
    closed = next(r for r in views if isinstance(r, RunClosed))
    assert (closed.status, closed.error_code) == (RunStatus.FAILED, "ValueError")


def test_an_interrupt_is_control_flow_and_fails_nothing() -> None:
    def ask(state: MessagesState) -> dict[str, Any]:
        interrupt("approve?")
        return {}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    compiled = graph.compile(checkpointer=InMemorySaver())
    sink = MemorySink()
    with _recorder(sink) as rec:
        config: RunnableConfig = {
            "callbacks": [TracewireCallbackHandler(rec)],
            "configurable": {"thread_id": "x"},
        }
        compiled.invoke({"messages": []}, config)
        views, steps = _recorded(rec, sink)
    assert all(end.status == StepStatus.COMPLETED for _, end in steps.values())
    assert [r.status for r in views if isinstance(r, RunClosed)] == [RunStatus.PARTIAL]


def test_a_streamed_llm_call_records_time_to_first_token() -> None:
    sink = MemorySink()
    with _recorder(sink) as rec:
        config: RunnableConfig = {"callbacks": [TracewireCallbackHandler(rec)]}
        _agent_graph(stream=True).invoke({"messages": [HumanMessage("hi")]}, config)
        _, steps = _recorded(rec, sink)
    ends = [end for start, end in steps.values() if start.type == StepType.LLM_CALL]
    streamed = [e for e in ends if e.payload and "time_to_first_token_ms" in e.payload]
    assert streamed, "no streamed llm call recorded its time to first token"
    assert all(0 <= e.payload["time_to_first_token_ms"] <= e.latency_ms for e in streamed)


def test_runs_tagged_hidden_are_skipped_with_everything_under_them() -> None:
    inner = RunnableLambda(lambda x: x, name="inner")
    hidden = RunnableLambda(lambda x: inner.invoke(x), name="plumbing").with_config(
        tags=["langsmith:hidden"]
    )
    sibling = RunnableLambda(lambda x: x, name="sibling")
    outer = RunnableLambda(lambda x: sibling.invoke(hidden.invoke(x)), name="outer")
    root = RunnableLambda(lambda x: outer.invoke(x), name="root")
    sink = MemorySink()
    with _recorder(sink) as rec:
        root.invoke(1, {"callbacks": [TracewireCallbackHandler(rec)]})
        _, steps = _recorded(rec, sink)
    assert _tree(steps) == [("node", "outer", None), ("node", "sibling", "outer")]


def test_prices_can_be_overridden() -> None:
    sink = MemorySink()
    model = GenericFakeChatModel(messages=_replies())
    with _recorder(sink) as rec:
        handler = TracewireCallbackHandler(rec, prices={MODEL: ModelPrice(1_000_000, 0)})
        model.invoke("hi", {"callbacks": [handler]})
        _, steps = _recorded(rec, sink)
    ((start, end),) = steps.values()
    assert (start.type, end.cost) == (StepType.LLM_CALL, 100.0)
