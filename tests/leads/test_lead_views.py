from __future__ import annotations

import re

from tests.factories import make_lead, universe_email, use_sandbox
from tests.support.accounts import browser_login, csrf_of
from tests.support.jobs import drain


async def test_list_filters_bulk_form_and_lead_page(anon_client, runtime, owner) -> None:
    client = anon_client
    await browser_login(client, owner)
    async with runtime.db.session() as session:
        await use_sandbox(session, owner.workspace_id)
        lead_id = (await make_lead(session, owner.workspace_id, email=universe_email(60))).id
    page = await client.get("/leads", params={"status": "new", "sort": "score"})
    assert page.status_code == 200
    assert 'name="lead_ids"' in page.text and "Enrich selected" in page.text
    token = csrf_of(page.text)

    posted = await client.post(
        "/leads/bulk",
        data={"csrf_token": token, "do": "enrich:selected", "lead_ids": str(lead_id)},
    )
    assert posted.status_code == 303, posted.text
    assert re.search(r"bulk=[0-9a-f-]{36}", posted.headers["location"])
    progress = await client.get(posted.headers["location"])
    assert "data-bulk=" in progress.text
    await drain(runtime)

    detail = await client.get(f"/leads/{lead_id}")
    assert detail.status_code == 200
    assert "Enriched by sandbox" in detail.text and "Timeline" in detail.text
    nothing = await client.post("/leads/bulk", data={"csrf_token": token, "do": "verify:selected"})
    assert nothing.status_code == 422 and "Tick at least one lead" in nothing.text
