"""Issue 5's "Done when", walked in the browser on `leadflood up --demo`: add a mailbox, build a
three-step sequence (A/B variant, delays, a fallback; an unknown variable refused when saved),
enroll leads by email and by filter (skips counted with their reasons), activate, and see the
first emails leave to a real SMTP server only for the leads whose window is open and never above
the mailbox's cap, with RFC 8058 headers and the postal address; then a one-click unsubscribe
stops that lead for good, enrollments are paused, resumed and stopped, and the suppression list
is edited."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from leadflood.demo.account import DEMO_EMAIL, DEMO_PASSWORD
from leadflood.models import Enrollment, Message, MessageStatus, VerificationStatus, Workspace
from leadflood.runtime import Runtime
from tests.e2e.conftest import console_errors, demo_leads_found, running
from tests.factories import make_lead
from tests.support.processes import wait_for
from tests.support.smtp_server import SmtpTestServer

pytestmark = pytest.mark.e2e
PUBLIC = "https://outreach.acme.example"


@pytest.fixture
async def demo(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    async with running(database_url, tmp_path, "--demo", PUBLIC_URL=PUBLIC) as (base, _):
        yield base


# The sequence's window, in each lead's own zone. The zones are chosen from the clock so the
# test means the same at any hour: the leads it may reach are around noon, Kai around midnight
# (a window near the current UTC time would close, or wrap past midnight, during the run).
OPENS, CLOSES = "09:00", "16:00"


def _zone(local_hour: int) -> str:
    """A fixed-offset zone whose local time is now `local_hour`:xx."""
    offset = (local_hour - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset  # UTC-9 .. UTC+14: all exist as Etc/GMT
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def _leads(runtime: Runtime) -> dict[str, uuid.UUID]:
    await demo_leads_found(runtime)  # the demo's own first leads, so these are the newest
    async with runtime.db.session() as session:
        workspace = await session.scalar(select(Workspace).where(Workspace.name == "Demo"))
        assert workspace is not None
        spec = {
            "maya@northwind.example": ("Maya", _zone(12)),
            "jonas@northwind.example": ("Jonas", _zone(12)),
            "priya@northwind.example": (None, _zone(12)),  # no first name: the fallback shows
            "kai@northwind.example": ("Kai", _zone(0)),  # outside the window
            "gone@northwind.example": ("Gone", _zone(12)),  # suppressed before enrolling
        }
        leads = {
            email: (
                await make_lead(session, workspace.id, email=email, first_name=first,
                                timezone=zone, company_name="Northwind",
                                verification_status=VerificationStatus.valid)
            ).id
            for email, (first, zone) in spec.items()
        }  # fmt: skip
        await make_lead(
            session, workspace.id, email=None, first_name="Ada", company_name="Northwind",
            verification_status=VerificationStatus.valid,
        )  # fmt: skip
        return leads


async def _ok(page: Page, text: str) -> None:
    await expect(page.locator(".banner, .result-card").first).to_contain_text(text)


async def test_the_done_when_of_sequences_and_sending(
    demo: str, browser: Browser, runtime: Runtime, screenshots: Path, tmp_path: Path
) -> None:
    base = demo
    leads = await _leads(runtime)
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    errors = console_errors(page)
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(DEMO_EMAIL)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)

    with SmtpTestServer() as smtp:
        await page.goto(f"{base}/settings/mailboxes/new")
        fields = {"name": "Sales", "from_email": "anna@acme.example", "from_name": "Anna",
                  "host": smtp.host, "port": str(smtp.port), "daily_cap": "2",
                  "min_gap_seconds": "0", "jitter_seconds": "0"}  # fmt: skip
        for key, value in fields.items():
            await page.locator(f"#f-{key}").fill(value)
        await page.locator("#f-tls_mode").select_option("none")
        await page.get_by_role("button", name="Add and check").click()
        await _ok(page, "the SMTP login worked")
        await page.get_by_role("button", name="Check DNS now").click()
        await expect(page.locator("#dns")).to_contain_text(re.compile("Checked .* UTC"))

        await page.goto(f"{base}/suppressions")
        await page.get_by_label("Value").fill("gone@northwind.example")
        await page.get_by_role("button", name="Suppress").click()
        await _ok(page, "Added gone@northwind.example")

        await page.goto(f"{base}/sequences/new")
        await page.get_by_label("Name").fill("Acceptance")
        await page.get_by_role("button", name="Create and open the builder").click()
        await _ok(page, "Sequence created")
        sequence_url = page.url.split("?")[0]
        await page.get_by_label("Subject", exact=True).fill("Hi {{ frist_name }}")
        await page.get_by_label("Body", exact=True).fill("x")
        await page.get_by_role("button", name="Add step").click()
        await expect(page.locator("#e-add_v0_subject")).to_contain_text(
            "did you mean 'first_name'?"
        )
        errors.clear()  # that form's 422, on purpose
        steps = [
            ("0", "hours", "Hi {{ first_name | default('there') }}", "For {{ company.name }}."),
            ("1", "hours", "", "Bumping this, {{ first_name | default('there') }}."),
            ("2", "days", "Last note", "Closing the loop."),
        ]  # fmt: skip
        for delay, unit, subject, body in steps:
            await page.get_by_label("Wait").fill(delay)
            await page.get_by_label("Unit").select_option(unit)
            await page.get_by_label("Subject", exact=True).fill(subject)
            await page.get_by_label("Body", exact=True).fill(body)
            await page.get_by_role("button", name="Add step").click()
            await _ok(page, "Step added.")
        await page.locator(".step-card").first.get_by_role("link", name="Edit").click()
        await page.locator("#f-v1-subject").fill("Quick one, {{ first_name | default('there') }}")
        await page.locator("#f-v1-body").fill("Another way to say it.")
        await page.locator("#f-v1-weight").fill("3")
        await page.get_by_role("button", name="Save step").click()
        await _ok(page, "Step saved.")

        for day in ("Sat", "Sun"):
            await page.locator("label.day", has_text=day).locator("input").check()
        await page.get_by_label("From").fill(OPENS)
        await page.locator("#f-end").fill(CLOSES)
        await page.get_by_label(re.compile(r"Sales\s+<?anna@acme")).check()
        await page.get_by_label("Postal address for the footer").fill(
            "Acme Inc, 1 Main St, Springfield"
        )
        await page.get_by_role("button", name="Save settings").click()
        await _ok(page, "Settings saved.")
        await expect(page.locator("#preview .preview-subject").first).to_be_visible()
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(screenshots / "acceptance-builder.png"), full_page=True)

        await page.goto(f"{sequence_url}/enroll")
        await page.locator("input[name=source][value=selection]").check()
        await page.locator("#f-lead_ids").fill("MAYA@northwind.example, nobody@else.example")
        await page.get_by_role("button", name="Enroll").click()
        await _ok(page, "1 lead enrolled")
        await expect(page.locator(".result-card")).to_contain_text("1 not found in this workspace")
        await page.locator("input[name=source][value=filter]").check()
        await page.locator("form[action$=enroll] #f-q").fill("Northwind")
        await page.get_by_role("button", name="Enroll").click()
        card = page.locator(".result-card")
        await expect(card).to_contain_text("3 leads enrolled")
        for reason in (
            "1 already in this sequence",
            "1 on the suppression list",
            "1 no valid email",
        ):
            await expect(card).to_contain_text(reason)
        await page.screenshot(path=str(screenshots / "acceptance-enroll.png"), full_page=True)
        await page.goto(sequence_url)
        await page.get_by_role("button", name="Activate").click()
        await _ok(page, "The sequence is active")

        async def two_sent() -> bool:
            return len(smtp.messages) >= 2

        await wait_for(two_sent, timeout=40, what="two emails to leave", interval=0.5)
        await page.goto(f"{base}/outbox?status=sent")
        await expect(page.locator("table tbody tr")).to_have_count(2)
        await page.screenshot(path=str(screenshots / "acceptance-outbox.png"), full_page=True)
        received = smtp.messages

    assert len(received) == 2, "the daily cap of 2 was passed"
    recipients = {r.rcpt_tos[0] for r in received}
    assert "kai@northwind.example" not in recipients, "sent outside the lead's window"
    assert recipients <= {"maya@northwind.example", "jonas@northwind.example",
                          "priya@northwind.example"}  # fmt: skip
    one_click = re.compile(
        rf"<{re.escape(PUBLIC)}/u/([\w-]{{20,64}})>,\s*"
        r"<mailto:anna@acme\.example\?subject=unsubscribe-([\w-]{20,64})>"
    )
    for mail in received:
        header = str(mail.message["List-Unsubscribe"])
        found = one_click.fullmatch(header)
        assert found is not None and found.group(1) == found.group(2), header
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = mail.message.get_body(("plain",))
        assert text is not None and "Acme Inc, 1 Main St, Springfield" in text.get_content()

    first = received[0]
    token = one_click.fullmatch(str(first.message["List-Unsubscribe"])).group(1)  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=base) as client:
        shown = await client.get(f"/u/{token}")
        assert shown.status_code == 200 and "only the button unsubscribes" in shown.text
        form = {"content-type": "application/x-www-form-urlencoded"}
        done = await client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click", headers=form)
        assert done.status_code == 200
    who = first.rcpt_tos[0]
    async with runtime.db.session() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.lead_id == leads[who])
        )
        assert enrollment is not None
        assert (enrollment.state.value, enrollment.stop_reason) == ("stopped", "unsubscribed")
        theirs = list(await session.scalars(select(Message).where(Message.lead_id == leads[who])))
        live = [m for m in theirs if m.status != MessageStatus.cancelled]
        assert len(live) == 1 and live[0].status == MessageStatus.sent, "a later step survived"

    await page.goto(f"{sequence_url}/enrollments")
    rows = page.locator("table tbody tr")
    await expect(rows).to_have_count(4)
    await expect(page.locator(".reasons-line")).to_contain_text("unsubscribed · 1")
    active = rows.filter(has=page.get_by_role("button", name=re.compile("^Pause")))
    await active.first.get_by_role("button", name=re.compile("^Pause")).click()
    await _ok(page, "1 enrollment paused.")
    await (
        rows.filter(has_text="Paused")
        .first.get_by_role("button", name=re.compile("^Resume"))
        .click()
    )
    await _ok(page, "1 enrollment resumed.")
    await page.locator("#select-all").check()
    await page.get_by_role("button", name="Pause selected").click()
    await _ok(page, "3 enrollments paused.")
    await page.locator("#select-all").check()
    await page.get_by_role("button", name="Resume selected").click()
    await _ok(page, "3 enrollments resumed.")
    await rows.filter(has_text="kai@").get_by_role("button", name=re.compile("^Stop")).click()
    await _ok(page, "1 enrollment stopped.")
    await page.screenshot(path=str(screenshots / "acceptance-enrollments.png"), full_page=True)

    csv = tmp_path / "dnc.csv"
    csv.write_text("value,kind\nrival.example,domain\n+1 415 555 0100,phone\nnot a thing,\n")
    await page.goto(f"{base}/suppressions")
    await page.locator("#f-file").set_input_files(str(csv))
    await page.get_by_role("button", name="Import").click()
    await _ok(page, "2 added")
    await expect(page.locator(".banner")).to_contain_text("1 rejected — line 4")
    row = page.locator("table tbody tr", has_text="rival.example")
    await row.get_by_role("button", name=re.compile("^Remove")).click()
    await _ok(page, "Removed from the suppression list.")
    await expect(page.locator("table tbody tr", has_text="rival.example")).to_have_count(0)
    await expect(page.locator("table")).to_contain_text(who)  # the unsubscribe landed here
    await page.screenshot(path=str(screenshots / "acceptance-suppressions.png"), full_page=True)
    assert not [e for e in errors if "422" not in e], errors
