"""An unconfirmed message in the Outbox: shown apart, explained, and queued again by a person
after a confirmation."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from leadflood.models import Message, MessageStatus
from tests.e2e.conftest import console_errors
from tests.factories import make_lead, make_mailbox, queue_message

pytestmark = pytest.mark.e2e


async def test_an_unconfirmed_message_is_queued_again_from_its_page(
    live_server, browser, screenshots, owner, runtime
):
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session, owner.workspace_id, config={"host": "127.0.0.1", "port": 1}
        )
        lead = await make_lead(session, owner.workspace_id, email="ada@lovelace-analytics.com")
        message = await queue_message(session, runtime.settings, box, lead)
        message.status, message.attempts = MessageStatus.unconfirmed, 1
        message.error = "unconfirmed: the attempt began but its outcome is unknown"
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{live_server}/login")
    await page.get_by_label("Email").fill(owner.email)
    await page.get_by_label("Password").fill(owner.password)
    await page.get_by_role("button", name="Sign in").click()

    await page.goto(f"{live_server}/outbox?status=unconfirmed")
    row = page.get_by_role("row").filter(has_text="ada@lovelace-analytics.com")
    await expect(row.locator(".badge")).to_have_text("unconfirmed")
    await row.get_by_role("link", name="Quick question").click()
    await expect(page.locator(".facts .badge").first).to_have_text("unconfirmed")
    await page.screenshot(path=str(screenshots / "outbox-unconfirmed.png"), full_page=True)
    await page.get_by_role("button", name="Queue again").click()
    await expect(page.locator(".facts .badge").first).to_have_text("queued")
    async with runtime.db.sessions() as session:
        # Queued again, and maybe already picked up by the server's worker (its mailbox points
        # at a closed port, so it is retried, never sent).
        status = await session.scalar(select(Message.status))
    assert status in (MessageStatus.queued, MessageStatus.sending)
    assert errors == []
