from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import console_errors

pytestmark = pytest.mark.e2e


def messy_export() -> bytes:
    """An Apollo-like export saved by a spreadsheet: BOM, semicolons, CRLF, a title spanning two
    lines, 30 repeated people and 20 rows with a broken email."""
    lines = ["Name;E-mail Address;Organisation;Job;Country;Notes"]
    for i in range(200):
        job = '"Head of\r\nSales"' if i == 0 else "VP Sales"
        lines.append(f"Person {i};person{i}@company{i % 40}.com;Company {i % 40};{job};Germany;")
    for i in range(30):
        lines.append(f"Person {i};PERSON{i}@company{i % 40}.com;Company {i % 40};CEO;Germany;again")
    for i in range(20):
        lines.append(f"Broken {i};broken{i}@@nowhere;Nowhere;;;")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


async def test_import_a_messy_csv_through_the_wizard(
    live_server, browser, screenshots, owner, tmp_path
):
    path = tmp_path / "apollo-export.csv"
    path.write_bytes(messy_export())
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = console_errors(page)
    await page.goto(f"{live_server}/login")
    await page.get_by_label("Email").fill(owner.email)
    await page.get_by_label("Password").fill(owner.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.goto(f"{live_server}/leads")
    await page.get_by_role("link", name="Import CSV").click()

    await expect(page.get_by_role("heading", name="Import leads from a CSV file")).to_be_visible()
    await page.screenshot(path=str(screenshots / "import-upload.png"))
    await page.get_by_label("CSV file").set_input_files(str(path))
    await page.get_by_role("button", name="Upload and map columns").click()

    await expect(
        page.get_by_role("heading", name="Map the columns of apollo-export.csv")
    ).to_be_visible()
    job = page.get_by_label("Job", exact=True)
    await expect(job).to_have_value("custom:job")
    await expect(page.get_by_label("E-mail Address")).to_have_value("email")
    await job.select_option("title")
    await page.get_by_role("button", name="Update preview").click()
    await expect(page.get_by_label("Job", exact=True)).to_have_value("title")
    sample = page.locator(".sample-table tbody tr").first
    await expect(sample).to_contain_text("Head of")
    await page.screenshot(path=str(screenshots / "import-mapping.png"), full_page=True)

    await page.get_by_role("button", name="Start import").click()
    done = page.locator(".import-done")
    await expect(done).to_be_visible(timeout=30000)
    await expect(done).to_contain_text(
        "200 created + 0 updated + 30 skipped + 20 rejected = 250 rows"
    )
    await expect(page.locator('[data-field="state"] .badge')).to_have_text("completed")
    link = page.get_by_role("link", name="Download rejected rows (CSV, with reasons)")
    await expect(link).to_be_visible()
    await page.screenshot(path=str(screenshots / "import-summary.png"), full_page=True)

    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    text = tmp_path / "rejected.csv"
    await download.save_as(text)
    rows = text.read_text().splitlines()
    # Written with the upload's own delimiter (semicolons).
    assert len(rows) == 21 and rows[1].startswith("231;233;invalid_email")

    await page.goto(f"{live_server}/leads?q=person0@")
    await expect(page.locator("tr", has_text="person0@company0.com")).to_contain_text("Head of")
    assert errors == []
