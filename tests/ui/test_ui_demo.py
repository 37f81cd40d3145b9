"""`make demo` as a person meets it: the demo agent's runs stream into the runs table, and a
run that went wrong shows where. Its screenshots are the README's."""

import pytest
from playwright.async_api import expect

from tests._browser import chromium, new_page, screenshot
from tests._server import serving
from tests.conftest import create_database, drop_database


async def test_the_demo_agents_runs_stream_in_and_a_failed_step_shows_its_error(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A database of its own: the demo records into org `demo`, which other tests may share.
    database_url = await create_database(postgres_server_url, "tracewire_ui_demo")
    workdir = tmp_path_factory.mktemp("ui-demo")
    try:
        async with (
            serving(database_url, workdir, "--demo", "--demo-rate", "4") as server,
            chromium() as browser,
            new_page(browser) as page,
        ):
            await page.goto(server.http_url + "/")
            rows = page.locator("tbody tr[data-run-id]")
            await expect(rows.nth(15)).to_be_visible(timeout=30_000)
            await screenshot(page, "demo-runs")

            went_wrong = rows.filter(
                has=page.locator("[data-status=PARTIAL], [data-status=FAILED]")
            )
            await expect(went_wrong.first).to_be_visible(timeout=30_000)
            await went_wrong.first.get_by_role("link").click()
            failed_step = page.locator(".step-row[data-step-status=FAILED]").first
            await failed_step.click()
            await expect(page.get_by_test_id("step-error")).to_be_visible()
            await screenshot(page, "demo-run")
    finally:
        await drop_database(postgres_server_url, database_url)
