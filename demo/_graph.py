"""The demo's support agent: a LangGraph `StateGraph` (classify → plan → research → draft →
review) whose nodes record their typed steps through the recorder.

Everything is local: the tools read in-memory tables and the chat models are LangChain's
fakes, so the demo needs no network and no API keys. The fake model sometimes writes a
draft that breaks a policy, and `review` then fails the run, the way a real guardrail would.
"""

import itertools
import random
import re
import time
from collections.abc import Callable
from typing import Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import ToolException, tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from tracewire.demo._png import bar_chart
from tracewire.recorder import RunHandle, current_run, node
from tracewire.recorder.prices import DEFAULT_PRICES

NODES = ("classify", "plan", "research", "draft", "review")
SEARCH_VENDOR = "acme-search"
SEARCH_COST = 0.004  # dollars per query of the pretend paid search API
REFUND_LIMIT = 100.0  # refunds above this need a human
# The pretend models cost what the real ones they stand in for do.
PRICES = {"fake-mini": DEFAULT_PRICES["gpt-4o-mini"], "fake-large": DEFAULT_PRICES["gpt-4o"]}

ORDERS: dict[str, dict[str, Any]] = {
    "AC-1042": {"status": "shipped", "carrier": "UPS", "eta": "in 2 days", "total": 89.90},
    "AC-1077": {"status": "delivered", "carrier": "DHL", "eta": None, "total": 240.00},
    "AC-1108": {"status": "processing", "carrier": None, "eta": "ships tomorrow", "total": 35.50},
    "AC-1131": {"status": "delayed", "carrier": "FedEx", "eta": "in 5 days", "total": 129.00},
}
ARTICLES: dict[str, str] = {
    "KB-3 Returns": "Unopened items can be returned within 30 days for a full refund.",
    "KB-5 Refunds": "Refunds go back to the original payment method within 5 business days.",
    "KB-8 Shipping": "We ship to the US and Canada; standard shipping takes 3-5 days.",
    "KB-9 Address changes": "The address can be changed until the order leaves the warehouse.",
    "KB-12 Passwords": "Reset links expire after 30 minutes; check the spam folder.",
    "KB-14 Billing": "Duplicate charges are pre-authorisations and drop off within 3 days.",
    "KB-21 ProBlend 900": "The ProBlend 900 jar and lid are dishwasher safe; the base is not.",
    "KB-30 Subscriptions": "Subscriptions can be cancelled any time under Account > Plans.",
}
INTENTS: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "return", "broken"),
    "billing": ("charged", "invoice", "payment"),
    "order_status": ("where is", "arrive", "tracking"),
    "shipping": ("ship", "address", "delivery"),
    "account": ("password", "login", "subscription", "cancel"),
    "product": ("dishwasher", "warranty", "problend"),
}
_ORDER_ID = re.compile(r"\bAC-\d{4}\b")
_DOLLARS = re.compile(r"\$(\d+(?:\.\d\d)?)")


class SupportState(TypedDict, total=False):
    question: str
    customer_id: str
    tier: str
    intent: str
    order_id: str | None
    plan: list[str]
    order: dict[str, Any] | None
    sources: list[str]
    gaps: list[str]
    draft: str
    answer: str


SupportGraph = CompiledStateGraph[SupportState, None, SupportState, SupportState]


class PolicyViolation(Exception):
    """A draft reply that must not reach the customer."""


class SearchRateLimited(Exception):
    """HTTP 429 from the search API."""


@tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order's status, carrier, delivery estimate and total by its id."""
    order = ORDERS.get(order_id.upper())
    if order is None:
        raise ToolException(f"order {order_id} not found")
    return {"order_id": order_id.upper(), **order}


@tool
def search_kb(query: str, limit: int = 2) -> list[dict[str, str]]:
    """Search the help-center articles; the best matches first."""
    words = {w for w in re.findall(r"[a-z0-9]+", query.lower()) if len(w) > 3}

    def score(item: tuple[str, str]) -> int:
        title, body = item
        return len(words & set(re.findall(r"[a-z0-9]+", f"{title} {body}".lower())))

    ranked = sorted(ARTICLES.items(), key=score, reverse=True)
    return [{"title": t, "snippet": b} for t, b in ranked[:limit] if score((t, b)) > 0]


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def price(model: str, input_tokens: int, output_tokens: int) -> float:
    return round(PRICES[model].cost(input_tokens, output_tokens), 8)


def chat(prompt: list[BaseMessage], reply: str) -> AIMessage:
    """Ask a fake chat model that answers `reply`, with usage a real provider would report."""
    usage_in = sum(estimate_tokens(str(m.content)) for m in prompt)
    usage_out = estimate_tokens(reply)
    scripted = AIMessage(
        reply,
        usage_metadata={
            "input_tokens": usage_in,
            "output_tokens": usage_out,
            "total_tokens": usage_in + usage_out,
        },
    )
    return GenericFakeChatModel(messages=iter([scripted])).invoke(prompt)


def usage_of(prompt: list[BaseMessage], reply: AIMessage) -> tuple[int, int]:
    """Input and output tokens as the provider reported them, else estimated."""
    if reply.usage_metadata is not None:
        return reply.usage_metadata["input_tokens"], reply.usage_metadata["output_tokens"]
    return sum(estimate_tokens(str(m.content)) for m in prompt), estimate_tokens(reply.text)


def _as_dicts(prompt: list[BaseMessage]) -> list[dict[str, Any]]:
    return [{"role": m.type, "content": m.content} for m in prompt]


def _run() -> RunHandle:
    run = current_run()
    if run is None:  # the graph is only ever invoked inside `recorder.run(...)`
        raise RuntimeError("the support graph must be invoked inside a recorder run")
    return run


def build_support_graph(
    rng: random.Random, pause: Callable[[float, float], object]
) -> SupportGraph:
    """Compile the agent. `pause(low_ms, high_ms)` stands in for real work's latency."""

    @node("classify")
    def classify(state: SupportState) -> dict[str, Any]:
        question = state["question"]
        lowered = question.lower()
        intent = next((i for i, kws in INTENTS.items() if any(k in lowered for k in kws)), "other")
        prompt: list[BaseMessage] = [
            SystemMessage(f"Classify the message as one of: {', '.join(INTENTS)}, other."),
            HumanMessage(question),
        ]
        started = time.perf_counter()
        pause(10, 30)
        reply = chat(prompt, intent)
        tokens_in, tokens_out = usage_of(prompt, reply)
        run = _run()
        run.llm_call(
            "fake-mini",
            vendor="fake",
            name="classify-intent",
            input=_as_dicts(prompt),
            output=reply.text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=price("fake-mini", tokens_in, tokens_out),
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        match = _ORDER_ID.search(question)
        order_id = match.group(0) if match else None
        run.thought(
            f"This is a {intent.replace('_', ' ')} question"
            + (f" about order {order_id}." if order_id else "."),
            reasoning=f"{state['tier']} customer; keywords matched the '{intent}' intent",
        )
        return {"intent": intent, "order_id": order_id}

    @node("plan")
    def plan(state: SupportState) -> dict[str, Any]:
        pause(10, 25)
        steps: list[str] = []
        if state.get("order_id"):
            steps.append(f"look up order {state['order_id']}")
        steps += [f"search the help center for {state['intent']}", "draft a reply", "review it"]
        _run().plan_update(steps)
        return {"plan": steps}

    @node("research")
    def research(state: SupportState) -> dict[str, Any]:
        run = _run()
        order, gaps = None, []
        if order_id := state.get("order_id"):
            with run.tool_call("lookup_order", {"order_id": order_id}) as call:
                pause(10, 30)
                try:
                    order = lookup_order.invoke({"order_id": order_id})
                    call.output = order
                except ToolException as exc:
                    call.fail(exc, code="order_not_found")
                    gaps.append(f"order {order_id} not found")
        query = f"{state['intent'].replace('_', ' ')} {state['question']}"
        with run.tool_call("search_kb", {"query": query}) as call:
            pause(10, 30)
            if rng.random() < 0.08:
                run.error(SearchRateLimited("429 Too Many Requests"), code="rate_limited")
                run.vendor_usage(SEARCH_VENDOR, errors=1, rate_limit_hits=1)  # 429s are free
                pause(10, 30)  # back off, then retry once
            hits = search_kb.invoke({"query": query})
            call.output = hits
        run.vendor_usage(SEARCH_VENDOR, cost=SEARCH_COST)
        run.info(f"found {len(hits)} articles", name="research-summary", gaps=gaps)
        return {"order": order, "sources": [h["title"] for h in hits], "gaps": gaps}

    @node("draft")
    def draft(state: SupportState) -> dict[str, Any]:
        facts = [f"Order: {state['order']}"] if state.get("order") else []
        facts += [f"{s}: {ARTICLES[s]}" for s in state.get("sources", [])]
        prompt: list[BaseMessage] = [
            SystemMessage("You are Acme's support agent. Be brief, kind and exact."),
            HumanMessage(f"{state['question']}\n\nFacts:\n" + "\n".join(facts)),
        ]
        text = _compose_reply(state, rng)
        run = _run()
        with run.llm(
            "fake-large", vendor="fake", input=_as_dicts(prompt), name="draft-reply"
        ) as llm:
            pause(30, 100)
            reply = chat(prompt, text)
            tokens_in, tokens_out = usage_of(prompt, reply)
            llm.input_tokens, llm.output_tokens = tokens_in, tokens_out
            llm.cost = price("fake-large", tokens_in, tokens_out)
            llm.output = reply.text
            # Files a real agent would keep: the reply as sent for review, and a chart.
            llm.artifact(reply.text.encode(), name="draft-reply.txt", role="draft")
            llm.artifact(
                bar_chart([tokens_in, tokens_out, len(facts) * 100]),
                name="draft-usage.png",
                role="chart",
            )
        return {"draft": reply.text}

    @node("review")
    def review(state: SupportState) -> dict[str, Any]:
        pause(10, 30)
        text, run = state["draft"], _run()
        refunds = [float(a) for a in _DOLLARS.findall(text)] if "refund" in text.lower() else []
        checks = {
            "no-internal-notes": "internal:" not in text.lower(),
            "refund-within-limit": all(a <= REFUND_LIMIT for a in refunds),
            "answers-question": len(text) > 40,
        }
        for name, passed in checks.items():
            run.validation(name, passed=passed, details={"chars": len(text)})
        if not checks["no-internal-notes"]:
            raise PolicyViolation("draft quotes an internal note to the customer")
        if not checks["refund-within-limit"]:
            raise PolicyViolation(
                f"draft promises a ${max(refunds):.2f} refund; "
                f"refunds above ${REFUND_LIMIT:.2f} need a human"
            )
        return {"answer": text}

    graph = StateGraph(SupportState)
    for name, func in zip(NODES, (classify, plan, research, draft, review), strict=True):
        graph.add_node(name, func)
    for before, after in itertools.pairwise((START, *NODES, END)):
        graph.add_edge(before, after)
    return graph.compile(name="support-agent")


def _compose_reply(state: SupportState, rng: random.Random) -> str:
    """What the fake model says: grounded in the research, and sometimes (about one draft in
    six) a policy breach for `review` to catch."""
    order = state.get("order")
    lines = [f"Hi! Thanks for reaching out about your {state['intent'].replace('_', ' ')}."]
    if order:
        eta = f", expected {order['eta']}" if order["eta"] else ""
        lines.append(f"Order {order['order_id']} is {order['status']}{eta}.")
    elif state.get("gaps"):
        lines.append("I couldn't find that order number; could you double-check it?")
    lines += [ARTICLES[s] for s in state.get("sources", [])[:1]]
    flaw = rng.random()
    if flaw < 0.08:
        lines.append("Internal: escalate via the warehouse hotline, do not share.")
    elif flaw < 0.17:
        lines.append(f"I've issued a refund of ${rng.choice((150, 240, 320))}.00 right away.")
    lines.append("Anything else I can help with?")
    return " ".join(lines)
