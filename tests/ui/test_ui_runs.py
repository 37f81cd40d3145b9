"""The runs page in a real browser: the table fills from the API and then keeps itself
current from `runUpdates`, without a reload."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Locator, Page, expect

from tests._browser import screenshot
from tests._server import ServerProcess, serving
from tracewire.recorder import Recorder, RecorderSettings

ORG = f"ui-runs-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    async with serving(
        database_url, tmp_path_factory.mktemp("ui-runs"), "--anonymous-org", ORG
    ) as process:
        yield process


@pytest.fixture(scope="module")
def recorder(database_url: str) -> Iterator[Recorder]:
    rec = Recorder(database_url, settings=RecorderSettings(org=ORG, flush_interval=0.01))
    yield rec
    rec.close()


async def _open_live(page: Page, server: ServerProcess, recorder: Recorder) -> None:
    await page.goto(server.http_url + "/")
    await expect(page.get_by_test_id("live-indicator")).to_have_text("live")
    # The socket is up; a run that arrives live shows the server's subscription is too.
    await _live_update_arrives(page, recorder, f"probe-bot-{uuid.uuid4().hex[:6]}")


async def _live_update_arrives(
    page: Page, recorder: Recorder, agent: str, user_id: str | None = None
) -> None:
    """Record a finished run and wait until its row (found by user, else agent) is shown."""
    with recorder.run(agent, user_id=user_id):
        pass
    assert await asyncio.to_thread(recorder.flush, 10)
    await expect(page.locator("tr", has_text=user_id or agent)).to_be_visible()


async def _seconds_until_visible(element: Locator, since: float) -> float:
    # `wait_for` watches the page itself; `expect` polls at growing intervals (up to 1 s
    # apart), which would be measured too.
    await element.wait_for(state="visible")
    return time.monotonic() - since


async def test_a_run_recorded_after_the_page_loaded_appears_within_a_second(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    await _open_live(page, server, recorder)
    agent = f"late-bot-{uuid.uuid4().hex[:6]}"
    run = recorder.run(agent, user_id="u-1", conversation_id="c-1")
    run.thought("thinking")
    assert await asyncio.to_thread(recorder.flush, 10)
    committed = time.monotonic()  # flush returned: the commit is at most this old
    row = page.locator("tr", has_text=agent)
    shown_after = await _seconds_until_visible(row, committed)
    assert shown_after < 1.0, f"the run appeared {shown_after:.2f} s after its commit"
    await expect(row.locator("[data-status]")).to_have_attribute("data-status", "RUNNING")

    run.finish("failed", error_code="boom", error_message="the tool broke")
    assert await asyncio.to_thread(recorder.flush, 10)
    committed = time.monotonic()
    failed_after = await _seconds_until_visible(row.locator("[data-status=FAILED]"), committed)
    assert failed_after < 1.0, f"the failure showed {failed_after:.2f} s after its commit"
    await expect(row).to_contain_text("the tool broke")


async def test_pausing_holds_live_updates_until_resumed(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    await _open_live(page, server, recorder)
    await page.get_by_role("button", name="Pause live updates").click()
    agent = f"paused-bot-{uuid.uuid4().hex[:6]}"
    with recorder.run(agent):
        pass
    assert await asyncio.to_thread(recorder.flush, 10)
    resume = page.get_by_role("button", name="Resume live updates (1)")
    await expect(resume).to_be_visible()
    await expect(page.locator("tr", has_text=agent)).to_have_count(0)
    await resume.click()
    await expect(page.locator("tr", has_text=agent)).to_be_visible()


async def test_filters_narrow_the_table_and_live_updates_respect_them(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    agent = f"filtered-bot-{uuid.uuid4().hex[:6]}"
    for user in ("alice", "bob"):
        with recorder.run(agent, user_id=user) as run, run.node("lookup"):
            run.llm_call("gpt-4o-mini", vendor="openai", input_tokens=10, output_tokens=5)
    with recorder.run(agent, user_id="carol") as run:
        run.fail(RuntimeError("no stock"))
    assert await asyncio.to_thread(recorder.flush, 10)

    await page.goto(server.http_url + f"/?agent={agent}")
    rows = page.locator("tbody tr[data-run-id]")
    await expect(rows).to_have_count(3)
    await page.get_by_label("User").fill("bob")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("bob")
    await page.get_by_label("User").fill("")
    await page.get_by_label("Status").select_option("FAILED")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("no stock")
    await page.get_by_label("Status").select_option("")
    await page.get_by_label("Error text").fill("NO STOCK")
    await expect(rows).to_have_count(1)
    await page.get_by_label("Error text").fill("")
    await expect(rows).to_have_count(3)

    # Sorting by tokens puts the runs with LLM calls (15 tokens) first, then descending flips.
    await page.get_by_role("button", name="Tokens").click()
    await expect(rows.first).not_to_contain_text("carol")
    await page.get_by_role("button", name="Tokens ▼").click()
    await expect(rows.first).to_contain_text("carol")

    await page.get_by_label("Status").select_option("COMPLETED")
    await expect(rows).to_have_count(2)
    await expect(page.get_by_test_id("live-indicator")).to_have_text("live")
    # A run that matches arrives live: the filtered subscription is in place.
    await _live_update_arrives(page, recorder, agent, user_id="erin")
    await expect(rows).to_have_count(3)
    with recorder.run(agent, user_id="dave") as run:
        run.fail(RuntimeError("filtered out"))
    with recorder.run(agent, user_id="frank"):
        pass
    assert await asyncio.to_thread(recorder.flush, 10)
    await expect(page.locator("tr", has_text="frank")).to_be_visible()
    await expect(rows).to_have_count(4)
    await expect(page.locator("tr", has_text="dave")).to_have_count(0)


async def test_the_runs_page_shows_statuses_durations_costs_and_failed_nodes(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    agent = "support-bot"
    for i, outcome in enumerate(["completed", "failed", "partial", "completed", "running"]):
        run = recorder.run(agent, user_id=f"u-{i}", conversation_id=f"c-{i % 2}")
        with run.node("plan"):
            run.llm_call(
                "gpt-4o-mini", vendor="openai", input_tokens=900, output_tokens=120, cost=0.0021
            )
        if outcome == "failed":
            with pytest.raises(TimeoutError), run.node("lookup"):
                raise TimeoutError("orders API timed out")
            run.fail(TimeoutError("orders API timed out"))
        elif outcome != "running":
            run.finish(outcome)
    assert await asyncio.to_thread(recorder.flush, 10)

    await page.goto(server.http_url + f"/?agent={agent}")
    rows = page.locator("tbody tr[data-run-id]")
    await expect(rows).to_have_count(5)
    failed = page.locator("tr", has=page.locator("[data-status=FAILED]"))
    await expect(failed).to_contain_text("lookup")
    await expect(failed).to_contain_text("orders API timed out")
    await expect(rows.first).to_contain_text("$0.0021")
    await expect(rows.first).to_contain_text("1,020")
    await expect(page.locator("tbody tr").first).to_be_visible()
    await screenshot(page, "runs")


async def test_pages_load_on_demand_and_only_the_rows_on_screen_are_drawn(
    server: ServerProcess, page: Page, recorder: Recorder
) -> None:
    agent = f"many-bot-{uuid.uuid4().hex[:6]}"
    for i in range(120):
        with recorder.run(agent, user_id=f"user-{i:03d}"):
            pass
    assert await asyncio.to_thread(recorder.flush, 10)

    await page.goto(server.http_url + f"/?agent={agent}")
    await expect(page.get_by_test_id("run-count")).to_have_text("50 of 120")
    await page.get_by_role("button", name="Load more").click()
    await expect(page.get_by_test_id("run-count")).to_have_text("100 of 120")
    await page.get_by_role("button", name="Load more").click()
    await expect(page.get_by_test_id("run-count")).to_have_text("120 of 120")
    await expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    drawn = await page.locator("tbody tr[data-run-id]").count()
    assert drawn < 80, drawn
    # The oldest run, drawn once scrolled to.
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await expect(page.locator("tr", has_text="user-000")).to_be_visible()
