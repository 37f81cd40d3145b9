"""GraphiQL as bundled with the web UI: a browser opening /graphql gets a working IDE with
no request leaving the machine (Strawberry's default page loads its code from a CDN)."""

import uuid

import pytest
from playwright.async_api import Route, expect

from tests._browser import chromium, new_page, screenshot
from tests._server import serving

ORG = f"ui-graphiql-{uuid.uuid4().hex[:8]}"


async def test_graphiql_loads_offline_and_runs_a_query(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside: list[str] = []

    async def local_only(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    workdir = tmp_path_factory.mktemp("ui-graphiql")
    async with (
        serving(database_url, workdir, "--anonymous-org", ORG) as server,
        chromium() as browser,
        new_page(browser) as page,
    ):
        await page.route("**/*", local_only)
        await page.goto(server.http_url + "/")
        async with page.context.expect_page() as opened:
            await page.get_by_role("link", name="GraphiQL").click()
        ide = await opened.value
        await ide.route("**/*", local_only)
        await expect(ide.locator(".graphiql-container")).to_be_visible()
        await expect(ide.locator(".graphiql-query-editor")).to_contain_text("totalCount")
        await ide.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        await expect(ide.locator(".graphiql-response")).to_contain_text('"totalCount": 0')
        await screenshot(ide, "graphiql")
    assert outside == []
