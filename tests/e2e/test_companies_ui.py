from __future__ import annotations

import pytest
from playwright.async_api import expect

from leadflood.models import Company
from tests.e2e.conftest import console_errors, sign_in
from tests.factories import make_lead

pytestmark = pytest.mark.e2e


async def test_companies_list_page_edit_and_the_enrichment_notice(
    live_server, browser, screenshots, owner, runtime
):
    async with runtime.db.session() as session:
        acme = Company(workspace_id=owner.workspace_id, domain="acme-robotics.com",
                       name="Acme Robotics", industry="Machinery", employee_count=140)  # fmt: skip
        session.add(acme)
        session.add(
            Company(workspace_id=owner.workspace_id, domain="northwind.io", name="Northwind")
        )
        await session.flush()
        for first, title in (("Ada", "VP Operations"), ("Grace", "Head of Engineering")):
            await make_lead(session, owner.workspace_id, company_id=acme.id, first_name=first,
                            last_name="Example", title=title)  # fmt: skip
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.get_by_role("link", name="Companies").click()
    await expect(page.get_by_role("heading", name="Companies")).to_be_visible()
    await page.screenshot(path=str(screenshots / "companies-list.png"))

    await page.get_by_role("link", name="Acme Robotics").click()
    await expect(page.get_by_role("heading", name="People")).to_be_visible()
    await expect(page.get_by_text("Not enrolled").first).to_be_visible()
    await page.get_by_label("Employees").fill("many")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#e-employee_count")).to_contain_text("whole number")
    errors.clear()  # the browser logs the form's deliberate 422 answer
    await page.get_by_label("Employees").fill("180")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Company saved.")).to_be_visible()
    await page.screenshot(path=str(screenshots / "company-page.png"), full_page=True)

    await page.goto(f"{live_server}/settings/enrichment")
    await expect(page.locator("#no-provider")).to_contain_text("only the free checks")
    await page.screenshot(path=str(screenshots / "enrichment-no-provider.png"), full_page=True)
    assert errors == []
