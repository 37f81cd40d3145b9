"""A step's artifacts on the run page, in a real browser: an image recorded with
`step.artifact(...)` renders inline from its signed `downloadUrl`."""

import asyncio
import uuid
import zlib
from struct import pack

import pytest
from playwright.async_api import expect

from tests._browser import chromium, new_page, screenshot
from tests._server import serving
from tracewire.recorder import Recorder, RecorderSettings

ORG = f"ui-artifacts-{uuid.uuid4().hex[:8]}"


def _png(width: int = 240, height: int = 120) -> bytes:
    """A small valid PNG (a red block), made here so the test ships no binary file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xdc\x26\x26" * width for _ in range(height))
    header = pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_a_steps_artifacts_show_live_with_images_inline_and_files_as_downloads(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("ui-artifacts")
    # The recorder writes files where the server reads them: one local store for both.
    store = str(workdir / "artifacts")
    settings = RecorderSettings(org=ORG, flush_interval=0.01, artifact_store=store)
    rec = Recorder(database_url, settings=settings)
    try:
        run = rec.run("chart-bot")
        step = run.node("draw")
        step.artifact(b"a,b\n1,2\n", role="data", mime_type="text/csv", name="data.csv")
        assert await asyncio.to_thread(rec.flush, 10)

        async with (
            serving(
                database_url, workdir, "--anonymous-org", ORG, "--artifact-store", store
            ) as server,
            chromium() as browser,
            new_page(browser) as page,
        ):
            await page.goto(f"{server.http_url}/runs/{run.id}")
            await page.locator(".step-row", has=page.get_by_text("draw", exact=True)).click()
            download = page.get_by_role("link", name="data.csv · data · text/csv · 8 B")
            await expect(download).to_be_visible()
            await expect(download).to_have_attribute("download", "data.csv")
            await expect(page.get_by_test_id("live-indicator")).to_have_text("live")

            # Stored while the step is on screen: the ARTIFACT_ADDED event brings it in.
            step.artifact(_png(), role="chart", mime_type="image/png", name="chart.png")
            assert await asyncio.to_thread(rec.flush, 10)
            image = page.get_by_role("img", name="chart.png")
            await expect(image).to_be_visible()
            # Rendered, not a broken-image icon: the browser decoded the PNG's pixels.
            width = await image.evaluate(
                """img => img.complete ? img.naturalWidth : new Promise(done => {
                    img.onload = () => done(img.naturalWidth);
                    img.onerror = () => done(`failed: ${img.src}`);
                })"""
            )
            assert width == 240, width
            step.end()
            run.finish("completed")
            assert await asyncio.to_thread(rec.flush, 10)
            await screenshot(page, "run-artifacts")
    finally:
        rec.close()
