from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors, sign_in
from tests.factories import universe_email, use_sandbox

pytestmark = pytest.mark.e2e


async def test_create_a_lead_in_the_ui_and_see_it_enriched(
    live_server, browser, screenshots, owner, runtime
):
    # The sandbox finds only its own synthetic people, and only where it is chosen.
    async with runtime.db.session() as session:
        await use_sandbox(session, owner.workspace_id)
    email = universe_email(70)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/leads")
    await expect(page.get_by_role("heading", name="No leads yet")).to_be_visible()
    await page.screenshot(path=str(screenshots / "leads-empty.png"))

    await page.get_by_role("textbox", name="Email").fill(email)
    await page.get_by_label("First name").fill("Grace")
    await page.get_by_role("button", name="Add lead").click()

    row = page.locator("tr", has_text=email)
    await expect(row).to_be_visible()
    # No reload: the status badge changes in place once the worker has enriched the lead.
    await expect(row.locator('[data-field="status"] .badge')).to_have_text(
        "enriched", timeout=20000
    )
    await expect(row.locator('[data-field="title"]')).not_to_have_text("—")
    await page.screenshot(path=str(screenshots / "leads.png"), full_page=True)
    assert errors == []


async def test_form_errors_show_next_to_the_field(live_server, browser, owner):
    page = await browser.new_page()
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/leads")
    await page.get_by_role("textbox", name="Email").fill("not-an-email")
    await page.get_by_role("button", name="Add lead").click()
    await expect(page.locator("#e-email")).to_contain_text("email")
    await expect(page.get_by_role("textbox", name="Email")).to_have_value("not-an-email")
