"""The stats page in a real browser: totals, charts (recharts SVG) and breakdown tables over
the runs recorded."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect

from tests._browser import chromium, new_page, screenshot
from tests._server import serving
from tracewire.recorder import Recorder, RecorderSettings

ORG = f"ui-stats-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def recorded(database_url: str) -> AsyncIterator[None]:
    rec = Recorder(database_url, settings=RecorderSettings(org=ORG, flush_interval=0.01))
    try:
        for i in range(12):
            run = rec.run("support-bot" if i % 3 else "triage-bot")
            with run.node("plan"):
                run.llm_call(
                    "gpt-4o-mini" if i % 2 else "claude-haiku",
                    vendor="openai" if i % 2 else "anthropic",
                    input_tokens=500 + i,
                    output_tokens=50,
                    cost=0.001 * (i + 1),
                )
            if i % 4 == 0:
                with pytest.raises(TimeoutError), run.node("lookup"):
                    raise TimeoutError("orders API timed out")
                run.fail(TimeoutError("orders API timed out"))
            else:
                run.vendor_usage("tavily", calls=1, cost=0.004)
                run.finish("completed")
        assert await asyncio.to_thread(rec.flush, 10)
        yield
    finally:
        rec.close()


async def test_the_stats_page_renders_totals_charts_and_breakdowns(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, recorded: None
) -> None:
    workdir = tmp_path_factory.mktemp("ui-stats")
    async with (
        serving(database_url, workdir, "--anonymous-org", ORG) as server,
        chromium() as browser,
        new_page(browser) as page,
    ):
        await page.goto(server.http_url + "/stats")
        totals = page.get_by_role("region", name="Totals")
        await expect(totals).to_contain_text("Runs12")
        await expect(totals).to_contain_text("Success rate75.0%")
        charts = page.get_by_test_id("chart")
        await expect(charts).to_have_count(4)
        for index in range(4):
            await expect(charts.nth(index).get_by_role("application")).to_be_visible()
        # The series are drawn: lines with a path, bars with rectangles.
        await expect(charts.nth(0).locator(".recharts-line path").first).to_be_attached()
        await expect(charts.nth(3).locator(".recharts-bar-rectangle").first).to_be_attached()
        failed_nodes = page.get_by_test_id("failed-nodes")
        await expect(failed_nodes).to_contain_text("lookup")
        await expect(page.get_by_text("claude-haiku")).to_be_visible()
        await expect(page.get_by_text("tavily")).to_be_visible()
        await page.get_by_label("Time range").select_option("168")
        await expect(totals).to_contain_text("Runs12")
        await page.get_by_label("Time range").select_option("24")
        await screenshot(page, "stats")
