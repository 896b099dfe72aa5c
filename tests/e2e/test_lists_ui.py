"""Tags, lists and enrolling a list, in the browser."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from leadflood.models import Enrollment
from tests.e2e.conftest import console_errors, sign_in
from tests.factories import make_lead, make_mailbox, make_sequence

pytestmark = pytest.mark.e2e


async def test_tag_a_lead_add_it_to_a_list_filter_by_the_list_and_enroll_the_list(
    live_server, browser, screenshots, owner, runtime
):
    async with runtime.db.session() as session:
        ada = await make_lead(
            session, owner.workspace_id, email="ada@lovelace.io", first_name="Ada",
            last_name="Lovelace", company_name="Lovelace Analytics",
        )  # fmt: skip
        await make_lead(session, owner.workspace_id, email="grace@hopper.io", first_name="Grace")
        mailbox = await make_mailbox(session, owner.workspace_id)
        sequence = await make_sequence(session, owner.workspace_id, mailboxes=[mailbox])
        await session.commit()
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)

    await page.goto(f"{live_server}/leads/{ada.id}")
    await page.get_by_label("Tag", exact=True).fill("VIP")
    await page.get_by_role("button", name="Add tag").click()
    await expect(page.locator(".chips a", has_text="vip")).to_be_visible()

    await page.goto(f"{live_server}/lists")
    await expect(page.get_by_role("heading", name="No lists yet")).to_be_visible()
    await page.get_by_label("Name").fill("Webinar follow-up")
    await page.get_by_role("button", name="Create list").click()
    await expect(page.get_by_role("heading", name="Webinar follow-up")).to_be_visible()

    await page.goto(f"{live_server}/leads?tag=vip")
    rows = page.locator(".leads-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".chip")).to_have_text("vip")
    await page.get_by_label("Select ada@lovelace.io").check()
    await page.get_by_role("button", name="Add to list").click()
    await expect(page.locator(".banner.ok")).to_contain_text("Added 1 lead to Webinar follow-up")

    await page.goto(f"{live_server}/lists")
    await expect(page.locator("table")).to_contain_text("Webinar follow-up")
    await page.screenshot(path=screenshots / "lists.png", full_page=True)
    await page.get_by_role("link", name="Webinar follow-up").click()
    await expect(page.locator(".list-head h2")).to_have_text("Webinar follow-up")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Ada Lovelace")
    await page.screenshot(path=screenshots / "list-detail.png", full_page=True)

    await page.get_by_role("button", name="Enroll in sequence").click()
    confirm = page.locator(".confirm-bar")
    await expect(confirm).to_contain_text(
        f"Enroll 1 lead matching this filter in “{sequence.name}”?"
    )
    await page.screenshot(path=screenshots / "list-enroll-confirm.png", full_page=True)
    await confirm.get_by_role("button", name="Enroll 1 lead").click()
    await expect(page.locator(".banner.ok")).to_contain_text(f"Enrolled 1 in {sequence.name}.")
    async with runtime.db.session() as session:
        enrolled = list(await session.scalars(select(Enrollment.lead_id)))
    assert enrolled == [ada.id]

    await page.goto(f"{live_server}/leads/{ada.id}")
    await expect(page.locator(".chips")).to_contain_text(["Webinar follow-up", "vip"])
    await page.get_by_label("New note").fill("Asked for pricing at the webinar.")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator(".note-body")).to_have_text("Asked for pricing at the webinar.")
    await page.get_by_label("Owner", exact=True).select_option(label="owner@example.com")
    await page.locator("#owner-select ~ button").click()
    await expect(page.locator(".banner.ok")).to_have_text("Changes saved.")
    await page.screenshot(path=screenshots / "lead-lists-notes.png", full_page=True)
    assert errors == []
