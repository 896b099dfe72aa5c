"""Correcting a label in a real browser: an unsubscribe read where the person meant "not
interested" is corrected on the thread page; the suppression it made stays, and the page says
so with a link to the suppression list, where it can be lifted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors, sign_in
from tests.factories import make_bare_sequence, make_lead, make_mailbox, make_replied_thread

pytestmark = pytest.mark.e2e


async def test_a_correction_away_from_an_unsubscribe_says_how_to_lift_it(
    live_server, browser, screenshots, owner, runtime
):
    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session, owner.workspace_id, from_email="sam@sender.example", name="Sam at Acme"
        )
        sequence, (step,) = await make_bare_sequence(
            session, owner.workspace_id, name="Q1 founders outreach"
        )
        lead = await make_lead(
            session, owner.workspace_id, email="grace@hopper-systems.com", first_name="Grace",
            last_name="Hopper", company_name="Hopper Systems", title="VP Engineering",
        )  # fmt: skip
        thread, _ = await make_replied_thread(
            session, runtime.settings, box, lead, sequence=sequence, step=step,
            body="Please remove me from your list, we are not looking at this now.",
            sent_at=now - timedelta(days=2), replied_at=now - timedelta(hours=3),
        )  # fmt: skip

    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/inbox/{thread.id}")
    answer = page.locator(".msg-inbound")
    await expect(answer.locator(".badge")).to_have_text("unsubscribe")
    await answer.locator("details.evidence-box summary").click()
    await answer.locator("select[name=classification]").select_option("reply:not_interested")
    await answer.get_by_role("button", name="Save").click()
    await page.wait_for_url("**notice=corrected**")

    notice = page.locator("[data-notice=not-undone]")
    await expect(notice).to_contain_text("grace@hopper-systems.com stays on the suppression list")
    await expect(answer.locator(".badge")).to_have_text("not interested")
    await page.screenshot(path=str(screenshots / "inbox-correction-not-undone.png"), full_page=True)

    await notice.get_by_role("link", name="Open the suppression list").click()
    await page.wait_for_url("**/suppressions?q=grace%40hopper-systems.com")
    await expect(page.get_by_role("row").filter(has_text="grace@hopper-systems.com")).to_have_count(
        1
    )
    assert errors == []
