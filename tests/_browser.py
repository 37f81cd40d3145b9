"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, against a real
`tracewire serve` serving the built web UI. Never `playwright install`: it downloads
browsers, which this setup neither needs nor can."""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
WEB_BUILT = REPO / "api" / "web_dist" / "index.html"
# Each run's screenshots go to build/ (ignored by git); the README's, in docs/screenshots,
# are refreshed with TRACEWIRE_SCREENSHOTS=docs/screenshots make pytest.
SCREENSHOTS = Path(os.environ.get("TRACEWIRE_SCREENSHOTS", REPO / "build" / "screenshots"))
# Without the background-networking flags Chromium keeps dialling Google's hosts, which a
# closed network refuses, many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Playwright's defaults (5 s for `expect`) fail pages that are only slow, on a loaded
# machine running two suites at once; a page that never gets there still fails.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


def _prepare() -> None:
    """Chromium must be installed; the UI is built here if `make pytest` did not (a bare
    `pytest` run)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    if not WEB_BUILT.exists():
        subprocess.run(["make", "web"], cwd=REPO, check=True)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    await asyncio.to_thread(_prepare)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def new_page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh context (its own sessionStorage) at a desktop size, for readable screenshots."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> None:
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
