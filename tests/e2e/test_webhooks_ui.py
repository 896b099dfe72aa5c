"""Settings → Webhooks in a browser: add an endpoint (its secret shown once), see a failed
delivery with its status code, redeliver it; a disabled endpoint shows a banner."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from leadflood.models import WebhookDelivery, WebhookEndpoint
from leadflood.webhooks import delivery
from tests.e2e.conftest import console_errors, running, sign_in
from tests.webhooks.test_delivery import Receiver

pytestmark = pytest.mark.e2e


async def test_add_an_endpoint_read_its_log_and_redeliver(
    browser, screenshots, owner, runtime, database_url, tmp_path
):
    # No worker beside the server: the test delivers the endpoint's events itself, to its own
    # receiver (a worker would try hooks.example.com first and reschedule them).
    async with running(database_url, tmp_path, command="serve") as (base, _):
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors = console_errors(page)
        await sign_in(page, base, owner)
        await page.goto(f"{base}/settings/webhooks")
        await page.get_by_label("URL").fill("http://10.0.0.1/hook")
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.locator(".field-error")).to_have_text("Choose at least one event.")
        await page.get_by_label("lead.created").check()
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.locator(".field-error")).to_contain_text("public host")
        await page.get_by_label("URL").fill("https://hooks.example.com/leadflood")
        await expect(page.get_by_label("lead.created")).to_be_checked()
        await page.get_by_label("reply.received").check()
        await page.get_by_role("button", name="Add endpoint").click()
        secret = await page.locator("#secret").input_value()
        assert secret.startswith("whsec_")
        await page.screenshot(path=str(screenshots / "settings-webhooks.png"), full_page=True)

        await page.get_by_role("link", name="https://hooks.example.com/leadflood").click()
        await page.get_by_role("button", name="Send test event").click()
        await expect(page.locator(".banner.ok")).to_contain_text("test event")
        receiver = Receiver(500, 200)
        async with receiver.client() as http, runtime.db.session() as session:
            await delivery.send_due(session, http)
        async with runtime.db.session() as session:  # give up on it at once
            await session.execute(
                update(WebhookDelivery).values(state="failed", next_attempt_at=None)
            )
        await page.reload()
        row = page.get_by_role("row").filter(has_text="webhook.ping")
        await expect(row).to_contain_text("500")
        await row.get_by_role("button", name="Redeliver").click()
        await expect(page.locator(".banner.ok")).to_contain_text("Queued again")
        async with receiver.client() as http, runtime.db.session() as session:
            await delivery.send_due(session, http)
        await page.reload()
        # the answers' codes are in <strong>; a message id may hold "200" too
        codes = page.locator("tbody td strong")
        await expect(codes).to_have_text(["200", "500"])
        await page.screenshot(path=str(screenshots / "settings-webhook-log.png"), full_page=True)

        async with runtime.db.session() as session:
            endpoint = await session.scalar(select(WebhookEndpoint))
            await delivery.disable(session, endpoint, datetime.now(UTC))
        await page.goto(f"{base}/settings/webhooks")
        await expect(page.locator(".banner.bad")).to_contain_text("Disabled automatically")
        row = page.get_by_role("row").filter(has_text="hooks.example.com/leadflood")
        await expect(row).to_contain_text("disabled")
        await expect(row).to_contain_text("Disabled automatically")
        await page.screenshot(path=str(screenshots / "settings-webhooks-disabled.png"))
        # the two refused forms answer 422, which the browser reports; nothing else
        assert [e for e in errors if "status of 422" not in e] == []
