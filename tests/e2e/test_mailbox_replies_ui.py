from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors, sign_in
from tests.inbox.test_sync import reply

pytestmark = pytest.mark.e2e


async def test_set_up_imap_on_a_mailbox_and_see_a_reply_arrive(
    live_server, browser, screenshots, owner, dovecot, imap_user
):
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/settings/mailboxes/new")
    await page.get_by_label("Resend").check()
    await page.locator("#f-name").fill("Replies")
    await page.locator("#f-from_email").fill("sam@sender.example")
    await page.locator("#f-api_key").fill("re_test")
    await page.get_by_label("Read this mailbox's replies over IMAP").check()
    await page.locator("#f-imap_host").fill(dovecot.host)
    await page.locator("#f-imap_port").fill(str(dovecot.port))
    await page.locator("#f-imap_tls_mode").select_option("none")
    await page.get_by_label("Same username and password as SMTP").uncheck()
    await page.locator("#f-imap_username").fill(imap_user)
    await page.locator("#f-imap_password").fill("wrong")
    await page.get_by_role("button", name="Add and check").click()
    await expect(page.locator("#e-imap_password")).to_contain_text("rejected the login")
    await page.screenshot(path=str(screenshots / "mailbox-imap-error.png"), full_page=True)
    errors.clear()  # the browser logs the refused form's 422 itself

    await page.locator("#f-api_key").fill("re_test")  # secrets are never sent back to a page
    await page.locator("#f-imap_password").fill(dovecot.passwords[imap_user])
    await page.get_by_role("button", name="Add and check").click()
    await expect(page.get_by_text("Mailbox saved")).to_be_visible()
    mailbox_page = page.url

    # The inbox keeps mail that relates to the workspace (personal mail is only counted): the
    # reply comes from a lead.
    await page.goto(f"{live_server}/leads")
    await page.get_by_role("textbox", name="Email").fill("pat@prospect.example")
    await page.get_by_role("button", name="Add lead").click()
    await expect(page.locator("tr", has_text="pat@prospect.example")).to_be_visible()
    await page.goto(mailbox_page)

    # The worker of `leadflood up` keeps an IDLE connection: a reply shows up on its own.
    dovecot.append(imap_user, "INBOX", reply())
    replies = page.locator("#replies")
    for _ in range(40):
        await page.reload()
        if "1 stored" in (await replies.inner_text()):
            break
        await asyncio.sleep(0.5)
    await expect(replies).to_contain_text("1 stored")
    await expect(replies.locator(".badge")).to_have_text("ok")
    await page.get_by_role("button", name="Sync now").click()
    await expect(page.get_by_text("Sync started")).to_be_visible()
    await page.screenshot(path=str(screenshots / "mailbox-imap.png"), full_page=True)
    assert errors == []
