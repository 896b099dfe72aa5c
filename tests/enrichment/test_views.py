from __future__ import annotations

from leadflood.models import Role
from tests.support.accounts import browser_login, csrf_of


async def test_enrichment_settings_page_saves_and_checks_its_fields(
    anon_client, owner, make_user
) -> None:
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/enrichment")
    assert page.status_code == 200 and "Waterfall" in page.text
    assert 'id="no-provider"' in page.text and "only the free checks" in page.text
    token = csrf_of(page.text)
    bad = await anon_client.post(
        "/settings/enrichment",
        data={"csrf_token": token, "step_0": "sandbox", "monthly_budget": "lots"},
    )
    assert bad.status_code == 422
    assert "Enter a number of credits" in bad.text and "Choose at least one field" in bad.text
    good = await anon_client.post(
        "/settings/enrichment",
        data={
            "csrf_token": token, "step_0": "sandbox", "wanted_fields": ["title", "phone"],
            "monthly_budget": "25", "verifier": "none",
        },
    )  # fmt: skip
    assert good.status_code == 303
    chosen = await anon_client.get("/settings/enrichment")
    assert 'id="sandbox-note"' in chosen.text and 'id="no-provider"' not in chosen.text
    api = await anon_client.get("/v1/settings/enrichment")
    body = api.json()
    assert (body["wanted_fields"], body["monthly_budget"], body["verifier"]) == (
        ["title", "phone"],
        "25.0000",
        "none",
    )
    member = await make_user(role=Role.member, workspace=owner.workspace_id)
    refused = await anon_client.get("/v1/settings/enrichment", headers=member.headers)
    assert refused.status_code == 403
