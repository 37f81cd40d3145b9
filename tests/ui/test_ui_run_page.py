"""The run page in a real browser: the step tree and waterfall grow while the run is
recorded, a failed step shows its error, and a run in review can be approved."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests._browser import screenshot
from tests._server import ServerProcess, serving
from tracewire.recorder import Recorder, RecorderSettings

ORG = f"ui-run-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(
        database_url, tmp_path_factory.mktemp("ui-run"), "--anonymous-org", ORG
    ) as process:
        yield process


@pytest.fixture(scope="module")
def recorder(database_url: str) -> Iterator[Recorder]:
    rec = Recorder(database_url, settings=RecorderSettings(org=ORG, flush_interval=0.01))
    yield rec
    rec.close()


async def _flush(recorder: Recorder) -> None:
    assert await asyncio.to_thread(recorder.flush, 10)


async def _request_review(server: ServerProcess, run_id: uuid.UUID) -> None:
    """What an agent's reviewer hook would do: pause the running run for a human."""
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": "mutation ($id: ID!) { requestReview(id: $id) { status } }",
                "variables": {"id": str(run_id)},
            },
        )
    assert response.json()["data"]["requestReview"]["status"] == "NEEDS_REVIEW", response.text


def _step(page: Page, name: str) -> Locator:
    return page.locator(".step-row", has=page.locator(".step-name").get_by_text(name, exact=True))


async def test_the_page_of_a_running_run_shows_new_steps_as_they_are_recorded(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    run = recorder.run("research-bot", input={"question": "Where is my order?"})
    plan = run.node("plan")
    run.thought("Look the order up first.")
    await _flush(recorder)

    await page.goto(f"{server.http_url}/runs/{run.id}")
    await expect(_step(page, "plan")).to_have_attribute("data-step-status", "RUNNING")
    await expect(_step(page, "plan").locator(".spinner")).to_be_visible()
    await expect(_step(page, "thought")).to_be_visible()
    await expect(page.get_by_test_id("live-indicator")).to_have_text("live")

    # Recorded after the page loaded: it must arrive through the subscription.
    arguments = {"id": 1042}
    call = run.step(
        "orders_api",
        type="tool_call",
        input=arguments,
        parent=plan,
        payload={"tool_name": "orders_api", "arguments": arguments},
    )
    await _flush(recorder)
    await expect(_step(page, "orders_api")).to_have_attribute("data-step-status", "RUNNING")
    # Nested under `plan`, which started it.
    await expect(_step(page, "orders_api")).to_have_attribute("aria-level", "2")
    call.end({"status": "shipped"})
    run.llm_call(
        "gpt-4o-mini",
        vendor="openai",
        input="Summarise",
        output="It shipped.",
        input_tokens=120,
        output_tokens=9,
        cost=0.00002,
    )
    run.error(KeyError("carrier"), code="KeyError")
    await _flush(recorder)
    await expect(_step(page, "orders_api")).to_have_attribute("data-step-status", "COMPLETED")
    await expect(_step(page, "gpt-4o-mini")).to_be_visible()

    # Selecting steps shows their typed payloads.
    await _step(page, "orders_api").click()
    details = page.get_by_role("complementary", name="Step details")
    await expect(details).to_contain_text("Tool: orders_api")
    await expect(details).to_contain_text('"shipped"')
    await _step(page, "gpt-4o-mini").click()
    await expect(details).to_contain_text("LLM: gpt-4o-mini")
    await expect(details).to_contain_text("120 in / 9 out")

    # A failed step shows its error, with the traceback.
    await _step(page, "error").click()
    error = page.get_by_test_id("step-error")
    await expect(error).to_contain_text("KeyError")
    await expect(error).to_contain_text("carrier")
    await screenshot(page, "run")

    # Collapsing `plan` hides what ran inside it; searching finds it again.
    await _step(page, "plan").get_by_role("button", name="Collapse").click()
    await expect(_step(page, "orders_api")).to_have_count(0)
    await page.get_by_label("Search steps").fill("orders")
    await expect(_step(page, "orders_api")).to_be_visible()
    await page.get_by_label("Search steps").fill("")

    plan.end({"plan": ["lookup", "answer"]})
    run.finish("completed", output="It shipped.")
    await _flush(recorder)
    await expect(page.locator(".run-header [data-status]")).to_have_attribute(
        "data-status", "COMPLETED"
    )
    await expect(_step(page, "plan")).to_have_attribute("data-step-status", "COMPLETED")


async def test_a_failed_node_shows_its_error_and_traceback(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    with pytest.raises(ValueError), recorder.run("failing-bot") as run, run.node("parse"):
        raise ValueError("unexpected token at line 3")
    await _flush(recorder)

    await page.goto(f"{server.http_url}/runs/{run.id}")
    await expect(page.get_by_test_id("run-error")).to_contain_text("unexpected token")
    await _step(page, "parse").click()
    error = page.get_by_test_id("step-error")
    await expect(error).to_contain_text("ValueError")
    await expect(error).to_contain_text("unexpected token at line 3")
    await expect(error.locator(".traceback")).to_contain_text("Traceback")
    await screenshot(page, "run-failed-step")


async def test_approving_a_run_that_needs_review_sets_it_running_again(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    run = recorder.run("reviewed-bot")
    run.thought("Refund 40 EUR?")
    await _flush(recorder)
    await _request_review(server, run.id)

    await page.goto(f"{server.http_url}/runs/{run.id}")
    status = page.locator(".run-header [data-status]")
    await expect(status).to_have_attribute("data-status", "NEEDS_REVIEW")
    await expect(page.get_by_test_id("step-count")).to_have_text("1 step")
    await page.get_by_placeholder("Note (optional)").fill("looks right")
    await screenshot(page, "run-review")
    await page.get_by_role("button", name="Approve").click()
    await expect(status).to_have_attribute("data-status", "RUNNING")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    run.finish("completed")
    await _flush(recorder)
    await expect(status).to_have_attribute("data-status", "COMPLETED")


async def test_rejecting_a_run_in_review_fails_it(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    run = recorder.run("rejected-bot")
    await _flush(recorder)
    await _request_review(server, run.id)
    await page.goto(f"{server.http_url}/runs/{run.id}")
    await page.get_by_role("button", name="Reject").click()
    await expect(page.locator(".run-header [data-status]")).to_have_attribute(
        "data-status", "FAILED"
    )


async def test_a_run_of_ten_thousand_steps_loads_and_scrolls_with_few_rows_in_the_page(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    with recorder.run("busy-bot") as run:
        for i in range(100):
            with run.node(f"node-{i}"):
                for j in range(99):
                    run.info(f"tick {j}", name=f"tick-{i}-{j}")
    await _flush(recorder)

    await page.goto(f"{server.http_url}/runs/{run.id}")
    # Ten pages of 1000 steps; a few seconds even on a slow CI machine.
    await expect(page.get_by_test_id("step-count")).to_have_text("10000 steps", timeout=30_000)
    rendered = await page.locator(".step-row").count()
    assert rendered < 200, rendered
    await page.get_by_test_id("step-scroller").evaluate("el => el.scrollTop = el.scrollHeight")
    await expect(_step(page, "tick-99-98")).to_be_visible()
    await page.get_by_label("Search steps").fill("tick-57-3")
    await expect(page.get_by_test_id("step-count")).to_contain_text("of 10000 steps")
    await expect(_step(page, "tick-57-3")).to_be_visible()


async def test_the_run_page_resumes_after_a_server_restart_without_gaps_or_duplicates(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    run = recorder.run("restarted-bot")
    for i in range(3):
        run.info(f"before {i}", name=f"before-{i}")
    await _flush(recorder)
    await page.goto(f"{server.http_url}/runs/{run.id}")
    await expect(page.get_by_test_id("step-count")).to_have_text("3 steps")
    await expect(page.get_by_test_id("live-indicator")).to_have_text("live")

    await server.stop()
    await expect(page.get_by_test_id("live-indicator")).to_have_text("reconnecting")
    # Recorded while no server was up: only the resumed stream (afterSeq) can bring these.
    for i in range(3):
        run.info(f"during {i}", name=f"during-{i}")
    await _flush(recorder)
    await server.start()

    await expect(_step(page, "during-2")).to_be_visible(timeout=20_000)
    await expect(page.get_by_test_id("live-indicator")).to_have_text("live")
    run.info("after", name="after")
    run.finish("completed")
    await _flush(recorder)
    await expect(_step(page, "after")).to_be_visible()
    await expect(page.get_by_test_id("step-count")).to_have_text("7 steps")
    await expect(page.locator(".run-header [data-status]")).to_have_attribute(
        "data-status", "COMPLETED"
    )
