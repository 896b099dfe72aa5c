"""The Settings tabs of an owner (every tab) sit on one line on a laptop screen."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import running, sign_in

pytestmark = pytest.mark.e2e


async def test_the_settings_tabs_fit_on_one_line_at_1280_pixels(
    browser, screenshots, owner, database_url, tmp_path
):
    async with running(database_url, tmp_path) as (base, _):
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await sign_in(page, base, owner)
        await page.goto(f"{base}/settings/members")
        tops = await page.eval_on_selector_all(
            "nav.tabs .tab", "tabs => tabs.map(t => Math.round(t.getBoundingClientRect().top))"
        )
        await page.screenshot(path=str(screenshots / "settings-tabs.png"))
        assert len(tops) == 11 and len(set(tops)) == 1, tops


async def test_the_inbound_rules_card_and_the_import_icp_choice(
    browser, screenshots, owner, runtime, database_url, tmp_path
):
    from tests.support.icps import make_icp

    await make_icp(runtime, owner.workspace_id, name="Sales leaders")
    async with running(database_url, tmp_path) as (base, _):
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await sign_in(page, base, owner)
        await page.goto(f"{base}/settings/inbound")
        card = page.get_by_role("region", name="Classification rules")
        await card.wait_for()
        await page.screenshot(path=str(screenshots / "settings-inbound-rules.png"))
        await page.goto(f"{base}/imports/new")
        await page.get_by_label("Score the imported leads against").select_option(
            label="Sales leaders"
        )
        await page.screenshot(path=str(screenshots / "import-icp.png"), full_page=True)
