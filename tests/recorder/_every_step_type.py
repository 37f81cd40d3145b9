"""One run with a step of every type, recorded the same way through every sink, and what
must be stored for it: the direct sink's tests and the HTTP sink's check the same run."""

from collections.abc import Sequence

import pytest

from tracewire.db.models import Run, Step
from tracewire.recorder import RunHandle

STEP_TYPES = {
    "thought", "plan_update", "node", "tool_call", "tool_result", "llm_call", "validation",
    "error", "info", "input", "output",
}  # fmt: skip


def record_every_step_type(run: RunHandle) -> None:
    run.thought("check the order first", reasoning="the user asks about an order")
    run.plan_update(["lookup", "answer"])
    with run.node("lookup", input={"order": 7}) as lookup:
        with run.tool_call("orders_api", {"id": 7}) as call:
            call.output = {"status": "shipped"}
        run.tool_result("orders_api", {"status": "shipped"})
        lookup.output = {"found": True}
    run.llm_call(
        "gpt-4o-mini",
        vendor="openai",
        input=[{"role": "user", "content": "hi"}],
        output="It shipped.",
        input_tokens=12,
        output_tokens=4,
        cost=0.0003,
        latency_ms=120.0,
    )
    run.validation("answer_has_status", passed=True)
    run.error(TimeoutError("search timed out"), code="SEARCH_TIMEOUT")
    run.info("done", attempts=2)
    run.vendor_usage("tavily", calls=2, rate_limit_hits=1, cost=0.01)
    run.step("question", type="input", input="where is my order").end()
    run.step("answer", type="output").end("It shipped.")


def check_every_step_type(steps: Sequence[Step], run: Run) -> None:
    """The steps of `record_every_step_type`, as stored, and their run's totals."""
    assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
    by_type = {s.type: s for s in steps}
    assert set(by_type) == STEP_TYPES
    assert by_type["thought"].payload == {
        "text": "check the order first",
        "reasoning": "the user asks about an order",
    }
    assert by_type["plan_update"].payload == {"plan": ["lookup", "answer"]}
    assert by_type["tool_call"].payload == {"tool_name": "orders_api", "arguments": {"id": 7}}
    assert by_type["tool_call"].output == {"status": "shipped"}
    assert by_type["tool_call"].parent_id == by_type["node"].id
    assert by_type["tool_result"].payload == {"tool_name": "orders_api", "is_error": False}
    llm = by_type["llm_call"]
    assert (llm.model, llm.vendor, llm.input_tokens, llm.output_tokens) == (
        "gpt-4o-mini", "openai", 12, 4,
    )  # fmt: skip
    assert float(llm.cost or 0) == pytest.approx(0.0003)
    assert llm.latency_ms == pytest.approx(120.0)
    assert by_type["validation"].payload == {"passed": True, "details": None}
    error = by_type["error"]
    assert (error.status, error.error_code, error.error_message) == (
        "failed", "SEARCH_TIMEOUT", "search timed out",
    )  # fmt: skip
    assert error.error_traceback and "TimeoutError: search timed out" in error.error_traceback
    assert by_type["info"].payload == {"message": "done", "data": {"attempts": 2}}
    assert by_type["output"].output == "It shipped."
    assert all(s.ended_at is not None and s.status != "running" for s in steps)
    assert (run.step_count, run.error_count, run.input_tokens) == (len(steps), 1, 12)
    assert run.current_node == "lookup"
