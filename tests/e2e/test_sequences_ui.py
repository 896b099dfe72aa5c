"""`leadflood up --demo` end to end: build a three-step sequence in the browser with a live
preview, enroll sandbox leads, activate, and see the first emails leave through the demo SMTP
catcher into the Outbox with their List-Unsubscribe headers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from leadflood.demo.account import DEMO_EMAIL, DEMO_PASSWORD
from leadflood.models import VerificationStatus, Workspace
from leadflood.runtime import Runtime
from tests.e2e.conftest import console_errors, demo_leads_found, running
from tests.factories import make_lead
from tests.support.processes import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
async def demo_server(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    async with running(database_url, tmp_path, "--demo") as server:
        yield server


async def _sandbox_leads(runtime: Runtime, count: int) -> list[Any]:
    """Leads shaped like the sandbox universe's prospects, in the demo workspace, added once
    the demo's own first leads are in, so these are the newest."""
    await demo_leads_found(runtime)
    async with runtime.db.session() as session:
        workspace = await session.scalar(select(Workspace).where(Workspace.name == "Demo"))
        assert workspace is not None
        leads = []
        for i in range(count):
            leads.append(
                await make_lead(
                    session, workspace.id, first_name=["Maya", "Jonas", "Priya"][i % 3],
                    last_name="Sandbox", company_name="Northwind Labs",
                    email=f"prospect{i}@northwind-labs.example", timezone="UTC",
                    verification_status=VerificationStatus.valid,
                )
            )  # fmt: skip
        return leads


async def test_build_enroll_activate_and_see_mail_in_the_outbox(
    demo_server: tuple[str, Path], browser: Browser, runtime: Runtime, screenshots: Path
) -> None:
    base, data_dir = demo_server
    await _sandbox_leads(runtime, 3)
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # enroll asks once
    errors = console_errors(page)
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(DEMO_EMAIL)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)

    await page.goto(f"{base}/sequences")
    await expect(page.get_by_text("Demo: three-step intro")).to_be_visible()
    await page.get_by_role("link", name="New sequence").click()
    await page.get_by_label("Name").fill("Northwind launch")
    await page.get_by_role("button", name="Create and open the builder").click()
    await expect(page.get_by_text("Sequence created")).to_be_visible()

    steps = [
        ("0", "hours", "Hi {{ first_name }}, quick idea for {{ company.name }}",
         "Hi {{ first_name | default('there') }},\n\nA short note about {{ company.name }}."),
        ("2", "business_days", "", "Bumping this up, {{ first_name }}."),
        ("3", "business_days", "Last note", "Closing the loop, {{ first_name }}."),
    ]  # fmt: skip
    await page.get_by_label("Subject", exact=True).fill("Hi {{ frist_name }}")
    await page.get_by_label("Body", exact=True).fill("x")
    await page.get_by_role("button", name="Add step").click()
    await expect(page.locator("#e-add_v0_subject")).to_contain_text("frist_name")
    errors.clear()  # the 422 of that form page, on purpose
    for delay, unit, subject, body in steps:
        await page.get_by_label("Wait").fill(delay)
        await page.get_by_label("Unit").select_option(unit)
        await page.get_by_label("Subject", exact=True).fill(subject)
        await page.get_by_label("Body", exact=True).fill(body)
        await page.get_by_role("button", name="Add step").click()
        await expect(page.get_by_text("Step added.")).to_be_visible()
    await expect(page.locator(".step-card")).to_have_count(3)
    await expect(page.get_by_text("After 2 business days")).to_be_visible()

    for day in ("Sat", "Sun"):
        await page.locator("label.day", has_text=day).locator("input").check()
    await page.get_by_label("From").fill("00:00")
    await page.locator("#f-end").fill("23:59")
    await page.get_by_label(re.compile("Demo mailbox")).check()
    await page.get_by_label("Postal address for the footer").fill("Northwind, 1 Harbour St")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    await expect(page.get_by_text("Before you can")).to_have_count(0)

    preview = page.locator("#preview")
    first_subject = preview.locator(".preview-subject").first
    await expect(first_subject).to_contain_text("quick idea for Northwind Labs")
    maya = await page.locator("#preview-lead option", has_text="Maya").get_attribute("value")
    await page.select_option("#preview-lead", value=maya)
    await expect(
        preview.get_by_text("Hi Maya, quick idea for Northwind Labs", exact=True)
    ).to_be_visible()
    await expect(preview.get_by_text("Re: Hi Maya, quick idea for Northwind Labs")).to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshots / "sequence-builder.png"), full_page=True)

    await page.get_by_role("link", name="Enroll leads").first.click()
    await page.get_by_label("Search", exact=True).fill("Northwind")
    await page.get_by_role("button", name="Enroll").click()
    await expect(page.get_by_text("3 leads enrolled")).to_be_visible()
    await page.goto(page.url.replace("/enroll", ""))
    await page.get_by_role("button", name="Activate").click()
    await expect(page.get_by_text("The sequence is active")).to_be_visible()

    async def first_sent() -> bool:
        await page.goto(f"{base}/outbox?status=sent")
        return await page.locator("table tbody tr").count() >= 1

    await wait_for(first_sent, timeout=90, what="the first email to leave", interval=2)
    await page.goto(f"{base}/outbox")
    await expect(page.get_by_text("prospect0@northwind-labs.example").first).to_be_visible()
    await page.screenshot(path=str(screenshots / "outbox.png"), full_page=True)
    await page.locator("table tbody tr a").first.click()
    await expect(
        page.get_by_text("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    ).to_be_visible()
    await expect(
        page.get_by_text(re.compile(r"List-Unsubscribe: <http://127\.0\.0\.1"))
    ).to_be_visible()
    assert list((data_dir / "demo_inbox").glob("*.eml")), "the demo catcher received nothing"

    await page.goto(f"{base}/settings/mailboxes")
    await expect(page.get_by_role("link", name="Demo mailbox")).to_be_visible()
    await page.screenshot(path=str(screenshots / "mailboxes.png"), full_page=True)
    await page.get_by_role("link", name="Demo mailbox").click()
    await page.get_by_role("button", name="Check DNS now").click()
    await expect(page.get_by_text(re.compile("Checked .* UTC"))).to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshots / "mailbox-form.png"), full_page=True)
    await page.goto(f"{base}/suppressions")
    await page.get_by_label("Value").fill("rival.example")
    await page.get_by_role("button", name="Suppress").click()
    await expect(page.get_by_text("Added rival.example")).to_be_visible()
    await page.screenshot(path=str(screenshots / "suppressions.png"), full_page=True)
    await page.goto(f"{base}/sequences")
    await page.get_by_role("link", name="Northwind launch").click()
    await page.get_by_role("link", name=re.compile(r"Enrollments \(3\)")).click()
    await expect(page.locator("table tbody tr")).to_have_count(3)
    await page.screenshot(path=str(screenshots / "sequence-enrollments.png"), full_page=True)
    assert not errors, errors
