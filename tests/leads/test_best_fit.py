"""Every lead is scored: a hand-added lead against the workspace's best-fitting ICP when it is
created or changed, and again when an ICP is added or changed."""

from __future__ import annotations

from tests.support.icps import make_icp
from tests.support.jobs import drain

SALES = {"titles": ["VP Sales"], "countries": ["DE"]}
ENGINEERING = {"titles": ["CTO"], "countries": ["DE"]}


async def test_a_hand_added_lead_is_scored_against_the_best_fit(client, runtime, owner) -> None:
    sales = await make_icp(runtime, owner.workspace_id, name="Sales", criteria=SALES)
    await make_icp(runtime, owner.workspace_id, name="Engineering", criteria=ENGINEERING)
    created = await client.post("/v1/leads", json={"email": "vp@example.com", "title": "VP Sales"})
    assert created.status_code == 201, created.text
    lead = (await client.get(f"/v1/leads/{created.json()['lead_id']}")).json()
    assert lead["icp_id"] is None and lead["score_icp_id"] == str(sales.id)
    assert lead["score"] == 75  # the title's share; the country is unknown
    changed = await client.patch(f"/v1/leads/{lead['id']}", json={"title": "CTO"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["score"] == 75 and changed.json()["score_icp_id"] != str(sales.id)


async def test_a_new_icp_scores_the_leads_that_had_none(client, runtime, owner) -> None:
    created = await client.post("/v1/leads", json={"email": "cto@example.com", "title": "CTO"})
    lead_id = created.json()["lead_id"]
    assert (await client.get(f"/v1/leads/{lead_id}")).json()["score"] is None
    icp = await make_icp(runtime, owner.workspace_id, name="Engineering", criteria=ENGINEERING)
    await drain(runtime)
    lead = (await client.get(f"/v1/leads/{lead_id}")).json()
    assert (lead["score"], lead["score_icp_id"]) == (75, str(icp.id))
    edited = await client.patch(f"/v1/icps/{icp.id}", json={"criteria": {"titles": ["CTO"]}})
    assert edited.status_code == 200, edited.text
    await drain(runtime)
    assert (await client.get(f"/v1/leads/{lead_id}")).json()["score"] == 100
