"""Settings → Jobs in a browser: dead jobs with their error, replayed after a confirmation."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors, running, sign_in
from tests.support.dead_jobs import ERROR, TASK, make_dead_jobs

pytestmark = pytest.mark.e2e


async def test_a_dead_job_is_read_and_replayed_from_settings(
    browser, screenshots, owner, runtime, database_url, tmp_path
):
    first, _ = await make_dead_jobs(runtime, owner.workspace_id, count=2)
    async with running(database_url, tmp_path) as (base, _):
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors = console_errors(page)
        await sign_in(page, base, owner)
        await page.goto(f"{base}/settings")
        await page.get_by_role("link", name="Jobs").click()
        await page.get_by_role("link", name="Failed").click()
        row = page.get_by_role("row").filter(has_text=f"#{first}")
        await expect(row.locator(".badge")).to_have_text("failed")
        await expect(row).to_contain_text(ERROR)
        await expect(page.locator(".dead-task")).to_contain_text(f"{TASK} 2 failed")
        await page.screenshot(path=str(screenshots / "settings-jobs.png"), full_page=True)

        asked: list[str] = []

        async def confirm(dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.on("dialog", confirm)
        await row.get_by_role("button", name="Replay").click()
        await expect(page.locator(".banner.ok")).to_have_text(f"Job {first} is queued again.")
        assert asked == [f"Replay job #{first} ({TASK})? It runs once more; fix its cause first."]
        await page.get_by_role("button", name="Replay all").click()
        await expect(page.locator(".banner.ok")).to_contain_text(f"of {TASK} are queued again")
        await page.screenshot(path=str(screenshots / "settings-jobs-replayed.png"), full_page=True)
        assert errors == []
