"""Editing, exporting, deleting and erasing leads in the browser."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from leadflood.models import Lead
from tests.e2e.conftest import console_errors, sign_in
from tests.factories import make_lead

pytestmark = pytest.mark.e2e

PEOPLE = (
    {"email": "ada@lovelace-analytics.com", "first_name": "Ada", "last_name": "Lovelace",
     "title": "CTO", "company_name": "Lovelace Analytics", "custom_fields": {"plan": "pro"}},
    {"email": "grace@hopper-systems.com", "first_name": "Grace", "last_name": "Hopper",
     "title": "VP Engineering", "company_name": "Hopper Systems"},
    {"email": "alan@turing-labs.co.uk", "first_name": "Alan", "last_name": "Turing",
     "title": "Head of Research", "company_name": "Turing Labs"},
)  # fmt: skip


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


async def _seed(runtime, workspace_id) -> list[uuid.UUID]:
    ids = []
    for values in PEOPLE:
        async with runtime.db.session() as session:
            ids.append((await make_lead(session, workspace_id, **values)).id)
    return ids


async def test_edit_a_lead_with_errors_next_to_fields(
    live_server, browser, screenshots, owner, runtime
):
    ids = await _seed(runtime, owner.workspace_id)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/leads/{ids[0]}")
    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.get_by_role("heading", name="Edit Ada Lovelace")).to_be_visible()

    await page.get_by_label("Title").fill("Chief Scientist")
    await page.get_by_label("Phone").fill("12")
    await page.get_by_label("Email").fill("grace@hopper-systems.com")
    await page.get_by_role("button", name="Save changes").first.click()
    await expect(page.locator("#e-phone")).to_contain_text("phone number")
    await expect(page.get_by_label("Title")).to_have_value("Chief Scientist")  # nothing lost
    await page.screenshot(path=screenshots / "lead-edit-errors.png", full_page=True)

    await page.get_by_label("Phone").fill("+44 20 7946 0958")
    await page.get_by_role("button", name="Save changes").first.click()
    await expect(page.locator("#e-email")).to_contain_text("already exists")

    await page.get_by_label("Email").fill("ada@lovelace-analytics.com")
    await page.locator('input[name="custom_key"]').nth(1).fill("region")
    await page.locator('input[name="custom_value"]').nth(1).fill("EMEA")
    await page.get_by_role("button", name="Save changes").first.click()
    await expect(page.get_by_role("status")).to_have_text("Changes saved.")
    fields = page.locator(".fields-table")
    await expect(fields).to_contain_text("Chief Scientist")
    await expect(fields).to_contain_text("+442079460958")
    await expect(fields).to_contain_text("EMEA")
    await page.screenshot(path=screenshots / "lead-edited.png", full_page=True)
    # The refused saves answer 422 and 409 (the browser logs those); no script error.
    assert [e for e in errors if "Failed to load resource" not in e] == []


async def test_export_the_filtered_list_as_csv(live_server, browser, screenshots, owner, runtime):
    await _seed(runtime, owner.workspace_id)
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    errors = console_errors(page)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/leads?q=hopper")
    link = page.get_by_role("link", name="Export 1 as CSV")
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    await expect(page.locator('[data-role="export-status"]')).to_contain_text("Exporting 1 lead")
    await page.screenshot(path=screenshots / "leads-export.png")
    rows = _csv_rows(await download.path())
    assert [r["email"] for r in rows] == ["grace@hopper-systems.com"]
    assert download.suggested_filename.startswith("leads-")

    await page.goto(f"{live_server}/leads")
    await page.get_by_label("Select ada@lovelace-analytics.com").check()
    await page.get_by_label("Select alan@turing-labs.co.uk").check()
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Export selected").click()
    picked = _csv_rows(await (await waiting.value).path())
    assert sorted(r["email"] for r in picked) == ["ada@lovelace-analytics.com",
                                                   "alan@turing-labs.co.uk"]  # fmt: skip
    assert picked[0]["custom:plan"] in ("pro", "")
    assert errors == []


async def test_erase_a_person_and_bulk_delete_asking_once(
    live_server, browser, screenshots, owner, runtime
):
    ids = await _seed(runtime, owner.workspace_id)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    asked: list[str] = []

    async def accept(dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await sign_in(page, live_server, owner)
    await page.goto(f"{live_server}/leads/{ids[0]}")
    await page.screenshot(path=screenshots / "lead-remove-card.png", full_page=True)
    await page.get_by_role("button", name="Erase person").click()
    await expect(page.get_by_role("status").first).to_contain_text("Person erased")
    assert len(asked) == 1 and "cannot be undone" in asked[0]
    await expect(page.get_by_text("ada@lovelace-analytics.com")).to_have_count(0)

    # Added again by hand: refused, next to the field.
    await page.get_by_role("textbox", name="Email").fill("ADA@lovelace-analytics.com")
    await page.get_by_role("button", name="Add lead").click()
    await expect(page.locator("#e-email")).to_contain_text("erased")

    await page.goto(f"{live_server}/leads")
    await page.get_by_label("Select grace@hopper-systems.com").check()
    await page.get_by_label("Select alan@turing-labs.co.uk").check()
    await page.get_by_role("button", name="Delete selected").click()
    confirm = page.get_by_role("form", name="Confirm deletion")
    await expect(confirm).to_contain_text("Delete 2 leads?")
    await page.screenshot(path=screenshots / "leads-bulk-delete-confirm.png")
    await confirm.get_by_role("button", name="Delete 2 leads").click()
    card = page.locator(".bulk-progress").first
    await expect(card.locator('[data-role="state"] .badge')).to_have_text(
        "completed", timeout=30000
    )
    assert len(asked) == 1  # the server's confirmation was the one question
    async with runtime.db.session() as session:
        left = await session.scalar(
            select(func.count()).where(Lead.workspace_id == owner.workspace_id)
        )
    assert left == 0
    assert [e for e in errors if "Failed to load resource" not in e] == []
