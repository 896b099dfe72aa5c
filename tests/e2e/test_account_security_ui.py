"""Account recovery and security in a browser, against `leadflood up --demo`: a password
reset mail arrives in the demo catcher and its link sets a new password; two-factor sign-in is
set up from its QR page and then asked for; the sign-in page warns before the lock-out and
says when it lifts."""

from __future__ import annotations

import re
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors, running, sign_in
from tests.support.processes import wait_for

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a fresh passphrase 42"


def _reset_link(inbox: Path, base: str) -> str:
    for path in sorted(inbox.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if "Reset your Lead Flood password" in str(message["Subject"]):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = re.search(rf"{re.escape(base)}/reset-password/\S+", body.get_content())
            assert found
            return found.group(0)
    raise AssertionError("no reset mail in the demo catcher")


async def test_a_reset_mail_in_the_demo_catcher_sets_a_new_password(
    browser, screenshots, owner, database_url, tmp_path
):
    async with running(database_url, tmp_path, "--demo") as (base, data_dir):
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors = console_errors(page)
        await page.goto(f"{base}/login")
        await page.get_by_role("link", name="Forgot your password?").click()
        await page.get_by_label("Email").fill(owner.email)
        await page.screenshot(path=str(screenshots / "forgot-password.png"), full_page=True)
        await page.get_by_role("button", name="Email me a reset link").click()
        await expect(page.locator(".banner.ok")).to_contain_text("is on its way")
        inbox = data_dir / "demo_inbox"

        async def arrived() -> bool:
            return any(inbox.glob("*.eml")) and bool(_reset_link_or_none(inbox, base))

        await wait_for(arrived, timeout=20, what="the reset mail in the demo catcher")
        await page.goto(_reset_link(inbox, base))
        await page.get_by_label("New password").fill(NEW_PASSWORD)
        await page.get_by_label("Repeat it").fill(NEW_PASSWORD)
        await page.screenshot(path=str(screenshots / "reset-password.png"), full_page=True)
        await page.get_by_role("button", name="Change password").click()
        await expect(page.locator(".banner.ok")).to_contain_text("password is changed")
        owner.password = NEW_PASSWORD
        await sign_in(page, base, owner)
        assert "/login" not in page.url
        assert errors == []


def _reset_link_or_none(inbox: Path, base: str) -> str | None:
    try:
        return _reset_link(inbox, base)
    except AssertionError:
        return None


async def test_two_factor_set_up_then_asked_at_sign_in(
    browser, screenshots, owner, database_url, tmp_path
):
    async with running(database_url, tmp_path) as (base, _):
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        errors = console_errors(page)
        await sign_in(page, base, owner)
        await page.goto(f"{base}/settings/sessions")
        await page.get_by_role("button", name="Set up two-factor sign-in").click()
        await expect(page.locator("img.totp-qr")).to_be_visible()
        secret = (await page.locator(".totp-secret").inner_text()).strip()
        await page.screenshot(path=str(screenshots / "two-factor-enrol.png"), full_page=True)
        await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
        await page.get_by_role("button", name="Turn on").click()
        await expect(page.locator(".recovery-codes li")).to_have_count(10)
        await page.screenshot(path=str(screenshots / "two-factor-on.png"), full_page=True)

        await page.locator("form[action='/logout'] button").click()
        await page.wait_for_url(lambda url: "/login" in url)
        await page.get_by_label("Email").fill(owner.email)
        await page.get_by_label("Password").fill(owner.password)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
        # The next step's code: the enrolment's own is refused as a replay.
        await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
        await page.screenshot(path=str(screenshots / "two-factor-sign-in.png"), full_page=True)
        await page.get_by_role("button", name="Verify and sign in").click()
        await page.wait_for_url(lambda url: "/login" not in url)
        assert errors == []


async def test_the_sign_in_page_warns_then_says_when_the_lock_lifts(
    browser, screenshots, owner, database_url, tmp_path
):
    async with running(database_url, tmp_path, LOGIN_ATTEMPTS_PER_ACCOUNT="3") as (base, _):
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(f"{base}/login")
        for _ in range(2):
            await page.get_by_label("Email").fill(owner.email)
            await page.get_by_label("Password").fill("not my password")
            await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("1 attempt left")
        await page.screenshot(path=str(screenshots / "sign-in-warning.png"), full_page=True)
        await page.get_by_label("Email").fill(owner.email)
        await page.get_by_label("Password").fill("not my password")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_label("Email").fill(owner.email)
        await page.get_by_label("Password").fill(owner.password)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text(
            re.compile(r"locked until \d\d:\d\d UTC")
        )
        await page.screenshot(path=str(screenshots / "sign-in-locked.png"), full_page=True)
