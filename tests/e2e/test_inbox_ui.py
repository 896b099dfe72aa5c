"""The Inbox in a real browser against `leadflood up`: a lead's answer appears with its label and
the sidebar's unread count; the thread shows both directions, the evidence and the stopped
enrollment; j/k and r work; a reply written there leaves through the server's worker to a real
SMTP server, threaded, and its badge turns "sent" without a reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors, sign_in
from tests.factories import make_bare_sequence, make_lead, make_mailbox, make_replied_thread

pytestmark = pytest.mark.e2e

PEOPLE = [
    ("ada@lovelace-analytics.com", "Ada", "Lovelace", "Lovelace Analytics", 82,
     "Sounds interesting, can we talk on Thursday afternoon? I could do 3pm."),
    ("grace@hopper-systems.com", "Grace", "Hopper", "Hopper Systems", 64,
     "Not interested, thanks. We built this in-house last year."),
    ("alan@turing-labs.co.uk", "Alan", "Turing", "Turing Labs", 47,
     "What does it cost for a team of 12?"),
]  # fmt: skip


async def test_a_reply_appears_and_is_answered_from_its_thread(
    live_server, browser, screenshots, owner, runtime, smtp
):
    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session, owner.workspace_id, from_email="sam@sender.example", daily_cap=100,
            config=smtp.config(), name="Sam at Acme",
        )  # fmt: skip
        sequence, (step,) = await make_bare_sequence(
            session, owner.workspace_id, name="Q1 founders outreach"
        )
        threads = []
        for i, (email, first, last, company, score, answer) in enumerate(PEOPLE):
            lead = await make_lead(
                session, owner.workspace_id, email=email, first_name=first, last_name=last,
                company_name=company, title="Head of Revenue Operations",
            )  # fmt: skip
            lead.score = score
            thread, _ = await make_replied_thread(
                session, runtime.settings, box, lead, body=answer, sequence=sequence, step=step,
                sent_at=now - timedelta(days=2, hours=i), replied_at=now - timedelta(hours=5 - i),
            )  # fmt: skip
            threads.append(thread)

    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/inbox")
    nav = page.locator('a.nav-item[href="/inbox"]')
    await expect(nav.locator(".count")).to_have_text("3")
    ada_row = page.get_by_role("row").filter(has_text="Ada Lovelace")
    await expect(ada_row.locator(".badge")).to_have_text("interested")
    await expect(
        page.get_by_role("row").filter(has_text="Grace Hopper").locator(".badge")
    ).to_have_text("not interested")
    await page.screenshot(path=str(screenshots / "inbox-list.png"), full_page=True)

    # j moves down the list (Alan's answer is the newest, then Grace's, then Ada's), Enter opens.
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await expect(page.locator("tr.is-current")).to_contain_text("Ada Lovelace")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/inbox/{threads[0].id}")

    await expect(page.locator(".msg-outbound .badge")).to_have_text("sent")
    await expect(page.locator(".msg-inbound .badge")).to_have_text("interested")
    await expect(page.locator(".msg-inbound .msg-body")).to_contain_text("Thursday afternoon")
    enrollment = page.locator(".enrollment-list li").filter(has_text="Q1 founders outreach")
    await expect(enrollment.locator(".badge")).to_have_text("stopped")
    await expect(enrollment).to_contain_text("Replied")
    await expect(nav.locator(".count")).to_have_text("2")
    await page.get_by_text("Why “interested”").click()
    await expect(page.locator(".evidence-list")).to_be_visible()
    await page.screenshot(path=str(screenshots / "inbox-thread.png"), full_page=True)

    await page.keyboard.press("r")
    await expect(page.get_by_label("Your reply")).to_be_focused()
    await page.keyboard.type("Thursday at 3pm works. I'll send an invite — talk then!")
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".banner.ok")).to_contain_text("Your reply is queued")
    mine = page.locator(".msg-outbound").last
    await expect(mine.locator(".msg-body")).to_contain_text("Thursday at 3pm works.")
    # The server's worker delivers it; the page polls its status.
    await expect(mine.locator('[data-field="status"] .badge')).to_have_text("sent", timeout=30000)
    await expect(mine).to_contain_text("sent just now")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshots / "inbox-thread-replied.png"), full_page=True)

    received = [m for m in smtp.messages if "Thursday at 3pm" in m.data.decode()]
    assert len(received) == 1
    mail = received[0].message
    assert mail["Subject"] == "Re: Quick question" and mail["In-Reply-To"]
    assert received[0].rcpt_tos == ["ada@lovelace-analytics.com"]

    # Ada's thread is now the latest: j walks down to Alan's, then Grace's (the oldest); k
    # goes back up; e marks Grace's done, and with nothing below it the list comes back.
    await page.keyboard.press("j")
    await page.wait_for_url(f"**/inbox/{threads[2].id}")
    await page.keyboard.press("j")
    await page.wait_for_url(f"**/inbox/{threads[1].id}")
    await page.keyboard.press("k")
    await page.wait_for_url(f"**/inbox/{threads[2].id}")
    await page.keyboard.press("j")
    await page.wait_for_url(f"**/inbox/{threads[1].id}")
    await page.keyboard.press("e")
    await page.wait_for_url("**/inbox?notice=done")
    await expect(page.get_by_role("row").filter(has_text="Grace Hopper")).to_have_count(0)
    await expect(page.get_by_role("row").filter(has_text="Alan Turing")).to_have_count(1)
    assert errors == []
