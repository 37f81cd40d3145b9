"""`tracewire demo`: a LangGraph support agent that records a steady stream of varied runs
(completed, partial, failed) so there is something to watch. No network, no API keys."""

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tracewire.db.enums import RunStatus
from tracewire.demo._graph import PolicyViolation, SupportGraph, SupportState, build_support_graph
from tracewire.recorder import Recorder, RecorderSettings
from tracewire.storage import StoreConfig

__all__ = ["run_demo"]

logger = logging.getLogger("tracewire.demo")

AGENT = "support-agent"
# Bounds how long a stopped demo waits for an unreachable database; the demo's data is
# not worth a hung Ctrl-C.
_CLOSE_TIMEOUT_S = 2.0
_SHARED_CONVERSATION = 0.35  # how often a customer follows up in their last conversation
_UNKNOWN_ORDER = 0.25  # how often an order question carries a mistyped order id

CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("cust-ana", "gold"),
    ("cust-ben", "silver"),
    ("cust-chloe", "bronze"),
    ("cust-dev", "gold"),
    ("cust-emma", "silver"),
    ("cust-farid", "bronze"),
)
QUESTIONS: tuple[str, ...] = (
    "Where is my order {order}? It was supposed to arrive yesterday.",
    "I want a refund for order {order}, the blender arrived broken.",
    "Can I change the delivery address on {order}?",
    "I was charged twice for {order}, can you fix the payment?",
    "How do I reset my password? The reset email never arrives.",
    "Do you ship to Canada, and how long does delivery take?",
    "Is the ProBlend 900 jar dishwasher safe?",
    "How do I cancel my subscription?",
    "What's your return policy for opened items?",
)
KNOWN_ORDERS = ("AC-1042", "AC-1077", "AC-1108", "AC-1131")


@dataclass(frozen=True, slots=True)
class _Request:
    question: str
    customer_id: str
    tier: str
    conversation_id: str
    tags: list[str]
    metadata: dict[str, Any]


@dataclass(slots=True)
class _Traffic:
    """Makes up who asks what: a few customers, some following up in one conversation."""

    rng: random.Random
    conversations: dict[str, str] = field(default_factory=dict)

    def next_request(self, number: int) -> _Request:
        customer, tier = self.rng.choice(CUSTOMERS)
        template = self.rng.choice(QUESTIONS)
        order = self.rng.choice(KNOWN_ORDERS)
        if self.rng.random() < _UNKNOWN_ORDER:
            order = f"AC-{self.rng.randint(9000, 9999)}"
        conversation = self.conversations.get(customer)
        if conversation is None or self.rng.random() >= _SHARED_CONVERSATION:
            conversation = f"conv-{self.rng.getrandbits(32):08x}"
            self.conversations[customer] = conversation
        channel = self.rng.choice(("chat", "chat", "email"))
        return _Request(
            question=template.format(order=order),
            customer_id=customer,
            tier=tier,
            conversation_id=conversation,
            tags=["demo", f"tier:{tier}", f"channel:{channel}"],
            metadata={"channel": channel, "locale": "en-US", "demo_run": number},
        )


def run_demo(
    url: str,
    *,
    api_key: str | None = None,
    org: str = "demo",
    runs_per_second: float = 2.0,
    stop: threading.Event | None = None,
    max_runs: int | None = None,
    seed: int | None = None,
    store: StoreConfig | None = None,
    notify_url: str | None = None,
) -> int:
    """Record demo runs until `stop` is set or `max_runs` runs were recorded: into a
    server (`url` http(s)://, the organization of `api_key`) or a database (`url`
    postgresql://, into `org`).

    Runs start `1 / runs_per_second` seconds apart, or back to back when one takes longer.
    A run that fails is recorded as failed and the loop goes on. Setting `stop` cuts the
    run in flight short (its simulated latency) and returns. Flushes and closes the
    recorder before returning the number of runs recorded; `seed` makes the traffic
    repeatable. Artifacts go to `store` (by default where the recorder sends them: the
    server, over HTTP); live viewers are woken by the server, or, recording into a
    database, through `notify_url` (a Redis URL; None: Postgres NOTIFY), the server's own,
    so that a server in Redis mode hears the demo.
    """
    if runs_per_second <= 0:
        raise ValueError("runs_per_second must be positive")
    if max_runs is not None and max_runs < 0:
        raise ValueError("max_runs must not be negative")
    stop_event = stop if stop is not None else threading.Event()
    rng = random.Random(seed)

    def pause(low_ms: float, high_ms: float) -> None:
        # Waiting on `stop` lets a run in flight finish at once when the demo is stopped.
        stop_event.wait(rng.uniform(low_ms, high_ms) / 1000)

    graph = build_support_graph(rng, pause)
    traffic = _Traffic(rng)
    interval = 1.0 / runs_per_second
    settings = RecorderSettings(notify_url=notify_url)
    if store is not None:  # the server's own store, so its download URLs work
        settings = RecorderSettings(artifact_store=store.url, s3=store.s3, notify_url=notify_url)
    recorder = Recorder(url, api_key=api_key, org=org, settings=settings)
    recorded = 0
    try:
        next_start = time.monotonic()
        while not stop_event.is_set() and (max_runs is None or recorded < max_runs):
            _record_one(recorder, graph, traffic.next_request(recorded + 1))
            recorded += 1
            next_start = max(next_start + interval, time.monotonic())  # late: no burst
            if stop_event.wait(max(0.0, next_start - time.monotonic())):
                break
    finally:
        _close(recorder)
    return recorded


def _close(recorder: Recorder) -> None:
    if not recorder.close(timeout=_CLOSE_TIMEOUT_S):
        logger.warning("demo: some runs were not written within %.0fs", _CLOSE_TIMEOUT_S)


def _record_one(recorder: Recorder, graph: SupportGraph, request: _Request) -> None:
    state: SupportState = {
        "question": request.question,
        "customer_id": request.customer_id,
        "tier": request.tier,
    }
    try:
        with recorder.run(
            AGENT,
            input={"question": request.question, "customer_tier": request.tier},
            user_id=request.customer_id,
            conversation_id=request.conversation_id,
            tags=request.tags,
            metadata=request.metadata,
        ) as run:
            final = graph.invoke(state)
            output = {
                "answer": final["answer"],
                "intent": final["intent"],
                "sources": final.get("sources", []),
            }
            if final.get("gaps"):
                run.finish(RunStatus.PARTIAL, output={**output, "unresolved": final["gaps"]})
            else:
                run.finish(RunStatus.COMPLETED, output=output)
    except PolicyViolation as exc:
        logger.debug("demo run blocked by review: %s", exc)
    except Exception:
        # Already recorded as the run's failure; the demo goes on with the next run.
        logger.warning("demo run failed", exc_info=True)
