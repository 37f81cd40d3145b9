"""Signing in to the web UI with auth on: nothing is shown before sign-in; a secret key or
the one-time login link `tracewire serve --login-org` prints signs in; sign out ends it."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, Response, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests._browser import new_page, screenshot
from tests._server import ServerProcess, serving
from tracewire.api.keys import create_api_key
from tracewire.api.login_links import WEB_KEY_NAME
from tracewire.db.engine import session_factory
from tracewire.recorder import Recorder, RecorderSettings

ORG = f"ui-auth-{uuid.uuid4().hex[:8]}"
AGENT = "secret-agent"
LOGIN_LINK = re.compile(r"(http://\S+/\?login=(\S+))")


@pytest.fixture(scope="module")
async def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    rec = Recorder(database_url, settings=RecorderSettings(org=ORG, flush_interval=0.01))
    with rec.run(AGENT):
        pass
    assert await asyncio.to_thread(rec.close, 10)
    async with serving(
        database_url, tmp_path_factory.mktemp("ui-auth"), "--login-org", ORG
    ) as process:
        yield process


def _login_link(server: ServerProcess) -> tuple[str, str]:
    found = LOGIN_LINK.search(server.output())
    assert found, server.output()
    return found.group(1), found.group(2)


async def test_nothing_is_shown_or_fetched_before_sign_in(
    server: ServerProcess, page: Page
) -> None:
    answered: list[int] = []

    def record(response: Response) -> None:
        if "/graphql" in response.url:
            answered.append(response.status)

    page.on("response", record)
    await page.goto(server.http_url + "/")
    await expect(page.get_by_label("Secret API key")).to_be_visible()
    await expect(page.get_by_text(AGENT)).to_have_count(0)
    await expect(page.locator("table")).to_have_count(0)
    # The one probe the page made was refused; no data went out.
    assert answered and all(status == 401 for status in answered), answered
    await screenshot(page, "sign-in")


async def test_a_secret_key_signs_in_for_the_tab_and_sign_out_forgets_it(
    server: ServerProcess, page: Page, engine: AsyncEngine
) -> None:
    async with session_factory(engine).begin() as session:
        issued = await create_api_key(session, ORG, name="typed by hand")

    await page.goto(server.http_url + "/")
    await page.get_by_label("Secret API key").fill("sk-tw-not-a-real-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("does not accept")

    await page.get_by_label("Secret API key").fill(issued.secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("tr", has_text=AGENT)).to_be_visible()
    # Live updates authenticate too (the key rides in connection_init).
    await expect(page.get_by_test_id("live-indicator")).to_have_text("live")
    await page.reload()
    await expect(page.locator("tr", has_text=AGENT)).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Secret API key")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Secret API key")).to_be_visible()
    # A key typed in by hand may be someone's CI key: signing out never revokes it.
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ runs { totalCount } }"},
            headers={"Authorization": f"Bearer {issued.secret}"},
        )
    assert response.status_code == 200, response.text


async def test_the_printed_login_link_signs_in_once_and_its_key_dies_at_sign_out(
    server: ServerProcess, browser: Browser
) -> None:
    link, token = _login_link(server)
    async with new_page(browser) as page:
        await page.goto(link)
        await expect(page.locator("tr", has_text=AGENT)).to_be_visible()
        assert "login=" not in page.url
        key = await page.evaluate("sessionStorage.getItem('tracewire.key')")
        assert key and key.startswith("sk-tw-")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_label("Secret API key")).to_be_visible()

    # The key the link issued was revoked at sign-out.
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ runs { totalCount } }"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 401
        # And the link works once only.
        again = await client.post("/auth/login", json={"token": token})
        assert again.status_code == 401
        assert again.headers["cache-control"] == "no-store"

    async with new_page(browser) as page:
        await page.goto(link)
        await expect(page.get_by_role("alert")).to_contain_text("invalid, used or expired")
        await expect(page.locator("table")).to_have_count(0)


async def test_the_login_route_refuses_malformed_and_unknown_tokens(
    server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        for body in ({"token": "guess"}, {"token": 42}, ["token"]):
            response = await client.post("/auth/login", json=body)
            assert response.status_code == 401, body
        response = await client.post("/auth/login", content=b"{not json")
        assert response.status_code == 400
        assert response.json()["error"].startswith("malformed JSON body")
        # Logging out with any other key is harmless and says nothing.
        response = await client.post(
            "/auth/logout", headers={"Authorization": "Bearer sk-tw-whatever"}
        )
        assert response.status_code == 204
    assert WEB_KEY_NAME not in server.output()
    _, token = _login_link(server)
    assert server.output().count(token) == 1, "the token is printed once, never logged"
