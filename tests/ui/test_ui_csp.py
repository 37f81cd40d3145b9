"""The web UI and the bundled GraphiQL work under the server's Content-Security-Policy:
Chromium reports no violation on any page, and GraphiQL still runs a query."""

import uuid

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from tests._browser import chromium, new_page
from tests._server import serving

ORG = f"ui-csp-{uuid.uuid4().hex[:8]}"
# Recorded by the page itself, from its first script on.
_WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


async def _violations(page: Page, console: list[str]) -> list[str]:
    reported: list[str] = await page.evaluate("window.__cspViolations")
    return reported + [line for line in console if "Content Security Policy" in line]


async def test_the_ui_pages_and_graphiql_report_no_csp_violation(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    console: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        console.append(message.text)

    workdir = tmp_path_factory.mktemp("ui-csp")
    async with (
        serving(database_url, workdir, "--anonymous-org", ORG) as server,
        chromium() as browser,
        new_page(browser) as page,
    ):
        await page.add_init_script(_WATCH_VIOLATIONS)
        page.on("console", keep)
        response = await page.goto(server.http_url + "/")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        await expect(page.get_by_role("link", name="GraphiQL")).to_be_visible()
        assert await _violations(page, console) == []

        await page.goto(server.http_url + "/stats")
        await expect(page.locator("#root")).not_to_be_empty()
        assert await _violations(page, console) == []

        await page.goto(server.http_url + "/graphql")
        await expect(page.locator(".graphiql-container")).to_be_visible()
        await expect(page.locator(".graphiql-query-editor")).to_contain_text("totalCount")
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        await expect(page.locator(".graphiql-response")).to_contain_text('"totalCount": 0')
        assert await _violations(page, console) == []
