from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from leadflood.models import Lead, LeadStatus
from leadflood.providers.sandbox import default_universe
from tests.e2e.conftest import console_errors
from tests.factories import make_lead, universe_email, use_sandbox
from tests.support.icps import make_icp

pytestmark = pytest.mark.e2e

ADA = universe_email(100)
GRACE = universe_email(200)
ALAN = universe_email(300)
ADA_TITLE = default_universe().find_by_email(ADA).title  # type: ignore[union-attr]


async def _seed(runtime, workspace_id) -> list:
    """Three people of the sandbox's universe, in a workspace that chose the sandbox; Ada's
    ICP wants her real (synthetic) title, so enriching her scores her."""
    icp = await make_icp(runtime, workspace_id, criteria={"titles": [ADA_TITLE]})
    ids = []
    for values in (
        {"email": ADA, "first_name": "Ada", "last_name": "Lovelace", "icp_id": icp.id},
        {"email": GRACE, "first_name": "Grace"},
        {"email": ALAN, "first_name": "Alan"},
    ):
        async with runtime.db.session() as session:
            ids.append((await make_lead(session, workspace_id, **values)).id)
    async with runtime.db.session() as session:
        await use_sandbox(session, workspace_id)
        lead = await session.get(Lead, ids[0])
        lead.status = LeadStatus.new
    return ids


async def _sign_in(page, live_server, owner) -> None:
    await page.goto(f"{live_server}/login")
    await page.get_by_label("Email").fill(owner.email)
    await page.get_by_label("Password").fill(owner.password)
    await page.get_by_role("button", name="Sign in").click()


async def test_bulk_enrich_from_the_list_then_the_lead_page(
    live_server, browser, screenshots, owner, runtime
):
    ids = await _seed(runtime, owner.workspace_id)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    page.on("dialog", lambda dialog: dialog.accept())
    await _sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/leads")

    await page.get_by_label(f"Select {ADA}").check()
    await page.get_by_label(f"Select {GRACE}").check()
    await expect(page.locator('[data-role="selected-count"]')).to_have_text("2 selected")
    await page.get_by_role("button", name="Enrich selected").click()

    card = page.locator(".bulk-progress").first
    await expect(card).to_be_visible()
    await expect(card.locator('[data-role="state"] .badge')).to_have_text(
        "completed", timeout=30000
    )
    await expect(card.locator('[data-role="counts"]')).to_have_text("2 done · 0 failed of 2")
    ada = page.locator("tr", has_text=ADA)
    await expect(ada.locator('[data-field="status"] .badge')).to_have_text("enriched")
    await expect(ada.locator('[data-field="score"]')).to_have_text("100")

    await page.get_by_label("Email", exact=True).select_option("unverified")
    await page.get_by_role("button", name="Apply").click()
    await page.get_by_role("button", name="Verify all matching").click()
    card = page.locator(".bulk-progress", has_text="Verifying").first
    await expect(card.locator('[data-role="state"] .badge')).to_have_text(
        "completed", timeout=45000
    )
    await page.screenshot(path=str(screenshots / "leads-bulk.png"), full_page=True)

    await page.goto(f"{live_server}/leads/{ids[0]}")
    await expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    fields = page.locator(".fields-table")
    title = fields.locator("tr", has_text="Title")
    await expect(title).to_contain_text("sandbox")
    await expect(title.locator(".source")).to_have_attribute("title", re.compile("^Synthetic"))
    await expect(fields.locator("tr", has_text="Email")).to_contain_text("manual")
    await expect(page.locator(".breakdown")).to_contain_text(f"title matches '{ADA_TITLE}'")
    timeline = page.locator(".timeline")
    await expect(timeline).to_contain_text("Enriched by sandbox")
    await expect(timeline).to_contain_text("Email verified")
    await expect(timeline).to_contain_text("Created (manual)")
    await expect(page.locator(".evidence")).to_contain_text("Mail server (MX)")
    await page.screenshot(path=str(screenshots / "lead-page.png"), full_page=True)

    await page.get_by_role("button", name="Enrich again").click()
    await expect(page.get_by_role("status")).to_contain_text("Enrichment has started")

    await page.goto(f"{live_server}/settings/enrichment")
    await expect(page.get_by_role("heading", name="Waterfall")).to_be_visible()
    await page.screenshot(path=str(screenshots / "settings-enrichment.png"), full_page=True)
    assert errors == []
