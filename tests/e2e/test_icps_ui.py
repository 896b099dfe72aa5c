from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors

pytestmark = pytest.mark.e2e


async def test_create_an_icp_run_a_search_and_see_scored_leads(
    live_server, browser, screenshots, owner
):
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await page.goto(f"{live_server}/login")
    await page.get_by_label("Email").fill(owner.email)
    await page.get_by_label("Password").fill(owner.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="ICPs").click()
    await expect(page.get_by_role("heading", name="No ICPs yet")).to_be_visible()
    await page.screenshot(path=str(screenshots / "icps-empty.png"))

    await page.get_by_role("link", name="Create your first ICP").click()
    await page.get_by_label("Name").fill("Sales leaders")
    await page.get_by_label("Company sizes").fill("a lot")
    await page.get_by_role("button", name="Create ICP").click()
    await expect(page.locator("#e-employee_ranges")).to_contain_text("is not a range")
    await page.screenshot(path=str(screenshots / "icps-form-errors.png"), full_page=True)
    errors.clear()  # the browser logs the form's deliberate 422 answer

    await page.get_by_label("Job titles").fill("VP Sales, Head of Sales, Sales Director")
    await page.get_by_label("Departments").fill("sales")
    await page.get_by_label("Company sizes").fill("51-200, 201-1000")
    await page.get_by_label("Countries or regions").fill("US, GB, DACH")
    await page.get_by_role("button", name="Create ICP").click()
    await expect(page.get_by_text("ICP created")).to_be_visible()

    await page.get_by_label("Up to").fill("300")
    await page.get_by_role("button", name="Run search").click()
    panel = page.locator(".run-panel")
    # No reload by hand: the panel follows the run until it completes.
    await expect(panel.locator('[data-field="state"] .badge')).to_have_text(
        "completed", timeout=30000
    )
    await expect(panel.locator('[data-count="found"]')).not_to_have_text("0")
    best = page.locator("tr[data-lead]").first
    await expect(best.locator(".score")).to_be_visible()
    await expect(best.locator(".reason-chip.plus").first).to_contain_text("title matches")
    await page.screenshot(path=str(screenshots / "icp-detail.png"), full_page=True)

    await page.get_by_role("link", name="ICPs").click()
    await expect(page.get_by_role("link", name="Sales leaders")).to_be_visible()
    await page.screenshot(path=str(screenshots / "icps.png"))
    assert errors == []
