"""A bad unsubscribe link answers with a standalone public page: a prospect never sees the
customer's app (sidebar, workspace switcher, search, links into it)."""

from __future__ import annotations

import httpx
import pytest

from leadflood.runtime import Runtime
from leadflood.suppressions import unsubscribe
from tests.factories import make_workspace
from tests.support.accounts import Account, browser_login

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
APP_CHROME = ("sidebar", "Search leads", "Back to Lead Flood", "ws-avatar", 'href="/leads"')
BAD_TOKENS = (
    "not-a-real-token-at-all-xyz",  # well-formed, unknown
    "short",  # malformed
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%29",  # a mail client added a character
    "aaaaaaaaaaaaaaaaaaaaaaaa/extra",  # a broken line break in a plain-text email
)


def _assert_standalone(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert "This unsubscribe link is not valid" in text
    assert "reply to the email" in text
    for chrome in APP_CHROME:
        assert chrome not in text, chrome
    # No link into the app at all (the stylesheet is the only local reference).
    assert "<a " not in text and "<form" not in text


@pytest.mark.parametrize("token", BAD_TOKENS)
async def test_a_bad_link_shows_a_standalone_page_on_get(
    anon_client: httpx.AsyncClient, token: str
) -> None:
    _assert_standalone(await anon_client.get(f"/u/{token}", headers=BROWSER))


async def test_a_signed_in_user_opening_a_bad_link_sees_no_app_chrome_either(
    anon_client: httpx.AsyncClient, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    _assert_standalone(await anon_client.get("/u/not-a-real-token-at-all-xyz", headers=BROWSER))


async def test_the_pages_button_with_a_bad_token_shows_the_standalone_page(
    anon_client: httpx.AsyncClient,
) -> None:
    response = await anon_client.post(
        "/u/not-a-real-token-at-all-xyz",
        data={"List-Unsubscribe": "One-Click"},
        headers=BROWSER,
    )
    _assert_standalone(response)


async def test_a_machine_one_click_post_with_a_bad_token_keeps_the_json_error(
    anon_client: httpx.AsyncClient,
) -> None:
    response = await anon_client.post(
        "/u/not-a-real-token-at-all-xyz",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unsubscribe_link_not_found"


async def test_a_valid_link_still_shows_the_confirmation_page(
    runtime: Runtime, anon_client: httpx.AsyncClient
) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        token = await unsubscribe.issue_token(session, ws.id, None, "ann@example.com")
    page = await anon_client.get(f"/u/{token}", headers=BROWSER)
    assert page.status_code == 200 and "Unsubscribe?" in page.text
    assert "not valid" not in page.text
