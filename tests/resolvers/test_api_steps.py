"""Steps over GraphQL: filtered by node, one by id, typed details per step type, large
values cut to previews with the full value on request, children, and the run's tree."""

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._api import data, new_org_key, serve
from tests._rows import insert, run_row, step_row
from tracewire.db.enums import StepStatus, StepType


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(database_url) as client:
        yield client


async def test_steps_can_be_filtered_by_node_name_and_type_together(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    steps = [
        step_row(run, 1, "plan"),
        step_row(run, 2, "plan", type=StepType.LLM_CALL.value),
        step_row(run, 3, "answer"),
        step_row(run, 4, "answer", type=StepType.LLM_CALL.value),
    ]
    await insert(engine, run, *steps)
    document = """query ($id: ID!, $nodes: [String!], $types: [StepType!]) {
        run(id: $id) { steps(nodes: $nodes, types: $types) { totalCount nodes { seq } } } }"""

    by_node = (await data(client, document, key, id=str(run.id), nodes=["answer"]))["run"]
    both = (await data(client, document, key, id=str(run.id), nodes=["plan"], types=["LLM_CALL"]))[
        "run"
    ]

    assert by_node["steps"] == {"totalCount": 2, "nodes": [{"seq": 3}, {"seq": 4}]}
    assert both["steps"] == {"totalCount": 1, "nodes": [{"seq": 2}]}


async def test_a_step_is_found_by_id_only_in_its_own_organization(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key, other = await new_org_key(engine), await new_org_key(engine)
    run = run_row(key.org_id)
    step = step_row(run, 1, "fetch")
    await insert(engine, run, step)
    document = "query ($id: ID!) { step(id: $id) { id name run { id } } }"

    mine = (await data(client, document, key, id=str(step.id)))["step"]

    assert mine == {"id": str(step.id), "name": "fetch", "run": {"id": str(run.id)}}
    assert (await data(client, document, other, id=str(step.id)))["step"] is None
    assert (await data(client, document, key, id="nope"))["step"] is None
    assert (await data(client, document, key, id=str(uuid.uuid4())))["step"] is None


DETAILS = """query ($id: ID!) { run(id: $id) { steps { nodes { type details {
    __typename
    ... on NodeDetails { node input output }
    ... on ThoughtDetails { text reasoning }
    ... on ToolCallDetails { toolName arguments result }
    ... on ToolResultDetails { toolName isError output }
    ... on LlmCallDetails { model vendor prompt completion inputTokens outputTokens cost }
    ... on ValidationDetails { check passed details }
    ... on PlanUpdateDetails { plan }
    ... on ErrorDetails { code message traceback }
    ... on InfoDetails { message data }
    ... on InputDetails { value }
    ... on OutputDetails { value }
} } } } }"""


async def test_each_step_type_has_its_own_typed_details(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    t = StepType
    rows = [
        step_row(run, 1, "parse", input={"doc": 1}, output={"ok": True}),
        step_row(run, 2, "thought", type=t.THOUGHT.value, payload={"text": "hm", "reasoning": "r"}),
        step_row(run, 3, "search", type=t.TOOL_CALL.value, output=["hit"],
                 payload={"tool_name": "search", "arguments": {"q": "x"}}),
        step_row(run, 4, "search", type=t.TOOL_RESULT.value, output="boom",
                 payload={"tool_name": "search", "is_error": True}),
        step_row(run, 5, "gpt-4o", type=t.LLM_CALL.value, model="gpt-4o", vendor="openai",
                 input="hi", output="hello", input_tokens=3, output_tokens=2, cost=Decimal("0.5")),
        step_row(run, 6, "has_answer", type=t.VALIDATION.value,
                 payload={"passed": False, "details": "empty"}),
        step_row(run, 7, "plan", type=t.PLAN_UPDATE.value, payload={"plan": ["a", "b"]}),
        step_row(run, 8, "error", type=t.ERROR.value, status=StepStatus.FAILED.value,
                 error_code="KeyError", error_message="'x'", error_traceback="Traceback..."),
        step_row(run, 9, "info", type=t.INFO.value, payload={"message": "note", "data": {"k": 1}}),
        step_row(run, 10, "input", type=t.INPUT.value, input={"q": "?"}),
        step_row(run, 11, "output", type=t.OUTPUT.value, output={"a": "!"}),
    ]  # fmt: skip
    await insert(engine, run, *rows)

    nodes = (await data(client, DETAILS, key, id=str(run.id)))["run"]["steps"]["nodes"]

    assert [n["details"] for n in nodes] == [
        {"__typename": "NodeDetails", "node": "parse", "input": {"doc": 1}, "output": {"ok": True}},
        {"__typename": "ThoughtDetails", "text": "hm", "reasoning": "r"},
        {"__typename": "ToolCallDetails", "toolName": "search", "arguments": {"q": "x"},
         "result": ["hit"]},
        {"__typename": "ToolResultDetails", "toolName": "search", "isError": True,
         "output": "boom"},
        {"__typename": "LlmCallDetails", "model": "gpt-4o", "vendor": "openai", "prompt": "hi",
         "completion": "hello", "inputTokens": 3, "outputTokens": 2, "cost": 0.5},
        {"__typename": "ValidationDetails", "check": "has_answer", "passed": False,
         "details": "empty"},
        {"__typename": "PlanUpdateDetails", "plan": ["a", "b"]},
        {"__typename": "ErrorDetails", "code": "KeyError", "message": "'x'",
         "traceback": "Traceback..."},
        {"__typename": "InfoDetails", "message": "note", "data": {"k": 1}},
        {"__typename": "InputDetails", "value": {"q": "?"}},
        {"__typename": "OutputDetails", "value": {"a": "!"}},
    ]  # fmt: skip


async def test_a_large_value_is_a_flagged_preview_in_lists_and_whole_on_request(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    big = {"text": "x" * 100_000}
    small = step_row(run, 1, "small", output={"ok": 1})
    large = step_row(run, 2, "large", output=big)
    await insert(engine, run, small, large)
    listing = """query ($id: ID!) { run(id: $id) { steps { nodes { truncated output } } } }"""
    single = """query ($id: ID!) { step(id: $id) { truncated output(full: true) } }"""

    nodes = (await data(client, listing, key, id=str(run.id)))["run"]["steps"]["nodes"]
    whole = (await data(client, single, key, id=str(large.id)))["step"]

    assert nodes[0] == {"truncated": False, "output": {"ok": 1}}
    assert nodes[1]["truncated"] is True
    assert isinstance(nodes[1]["output"], str)
    assert nodes[1]["output"].startswith('{"text":"xxx')
    assert 16_000 < len(nodes[1]["output"]) < 17_000
    assert whole == {"truncated": True, "output": big}


async def test_the_tree_lists_steps_depth_first_with_depth_and_child_counts(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    graph = step_row(run, 1, "graph")
    plan = step_row(run, 2, "plan", parent_id=graph.id)
    answer = step_row(run, 3, "answer", parent_id=graph.id)
    llm = step_row(run, 4, "gpt", type=StepType.LLM_CALL.value, parent_id=plan.id)
    orphan = step_row(run, 5, "late-child", parent_id=uuid.uuid4())  # parent not written yet
    tool = step_row(run, 6, "search", type=StepType.TOOL_CALL.value, parent_id=answer.id)
    await insert(engine, run, graph, plan, answer, llm, orphan, tool)
    document = """query ($id: ID!, $first: Int!) { run(id: $id) { tree(first: $first) {
        truncated nodes { depth childCount step { name } } } } }"""

    tree = (await data(client, document, key, id=str(run.id), first=1000))["run"]["tree"]
    cut = (await data(client, document, key, id=str(run.id), first=3))["run"]["tree"]

    assert [(n["step"]["name"], n["depth"], n["childCount"]) for n in tree["nodes"]] == [
        ("graph", 0, 2),
        ("plan", 1, 1),
        ("gpt", 2, 0),
        ("answer", 1, 1),
        ("search", 2, 0),
        ("late-child", 0, 0),
    ]
    assert tree["truncated"] is False
    assert cut["truncated"] is True
    assert [n["step"]["name"] for n in cut["nodes"]] == ["graph", "plan", "answer"]


async def test_children_and_parent_link_steps_of_the_tree(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await new_org_key(engine)
    run = run_row(key.org_id)
    node = step_row(run, 1, "plan")
    first = step_row(run, 2, "think", type=StepType.THOUGHT.value, parent_id=node.id)
    second = step_row(run, 3, "gpt", type=StepType.LLM_CALL.value, parent_id=node.id)
    await insert(engine, run, node, first, second)
    document = """query ($id: ID!) { step(id: $id) {
        children { name parent { name } children { name } } } }"""

    step = (await data(client, document, key, id=str(node.id)))["step"]

    assert step["children"] == [
        {"name": "think", "parent": {"name": "plan"}, "children": []},
        {"name": "gpt", "parent": {"name": "plan"}, "children": []},
    ]
