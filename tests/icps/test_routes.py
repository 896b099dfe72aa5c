from __future__ import annotations

import uuid

from tests.support.accounts import Account
from tests.support.jobs import drain

ICP = {
    "name": "Sales leaders",
    "description": "Who buys from us",
    "criteria": {
        "titles": ["VP Sales", "Head of Sales", "vp sales"],
        "seniorities": ["VP", "head"],
        "employee_ranges": ["51-200", "1001 +"],
        "countries": ["US", "GB"],
        "exclude_domains": ["https://www.Competitor.com/about"],
    },
}


async def test_create_read_update_and_delete(client) -> None:
    created = await client.post("/v1/icps", json=ICP)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["criteria"]["titles"] == ["VP Sales", "Head of Sales"]
    assert body["criteria"]["seniorities"] == ["vp", "head"]
    assert body["criteria"]["employee_ranges"] == ["51-200", "1001+"]
    assert body["criteria"]["exclude_domains"] == ["competitor.com"]
    assert body["weights"]["titles"] == 30 and body["source"] == "sandbox"
    icp_id = body["id"]
    assert (await client.get(f"/v1/icps/{icp_id}")).json()["name"] == "Sales leaders"
    listed = (await client.get("/v1/icps")).json()
    assert [item["id"] for item in listed["items"]] == [icp_id]
    patched = await client.patch(f"/v1/icps/{icp_id}", json={"weights": {"titles": 50}})
    assert patched.status_code == 200 and patched.json()["weights"]["titles"] == 50
    assert patched.json()["criteria"] == body["criteria"]
    assert (await client.delete(f"/v1/icps/{icp_id}")).status_code == 204
    assert (await client.get(f"/v1/icps/{icp_id}")).status_code == 404


async def test_invalid_criteria_answer_clear_errors(client) -> None:
    bad = {**ICP, "criteria": {**ICP["criteria"], "employee_ranges": ["lots"]}}
    response = await client.post("/v1/icps", json=bad)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "criteria.employee_ranges"
    assert "'lots' is not a range like '51-200'" in error["details"][0]["message"]
    empty = await client.post("/v1/icps", json={"name": "x", "criteria": {}})
    assert "set at least one of titles" in empty.json()["error"]["details"][0]["message"]
    seniority = {**ICP, "criteria": {"seniorities": ["boss"]}}
    assert "'boss' is not a seniority" in (await client.post("/v1/icps", json=seniority)).text
    weights = await client.post("/v1/icps", json={**ICP, "weights": {"titles": 101}})
    assert weights.status_code == 422
    unknown = await client.post("/v1/icps", json={**ICP, "criteria": {"job": ["x"]}})
    assert unknown.status_code == 422


async def test_names_are_unique_per_workspace(client) -> None:
    assert (await client.post("/v1/icps", json=ICP)).status_code == 201
    again = await client.post("/v1/icps", json={**ICP, "name": "SALES LEADERS"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "icp_name_taken"


async def test_search_runs_through_the_api(client, runtime) -> None:
    icp_id = (await client.post("/v1/icps", json=ICP)).json()["id"]
    started = await client.post(f"/v1/icps/{icp_id}/search", json={"max_results": 40})
    assert started.status_code == 202, started.text
    body = started.json()
    assert set(body) >= {"run_id", "job_id"} and body["existing"] is False
    again = await client.post(f"/v1/icps/{icp_id}/search", json={"max_results": 40})
    assert again.status_code == 200
    assert (again.json()["run_id"], again.json()["job_id"]) == (body["run_id"], body["job_id"])
    queued = (await client.get(f"/v1/icps/{icp_id}/search-runs/{body['run_id']}")).json()
    assert queued["state"] == "queued" and queued["progress"] == 0
    await drain(runtime)
    run = (await client.get(f"/v1/icps/{icp_id}/search-runs/{body['run_id']}")).json()
    assert run["state"] == "completed" and run["progress"] == 1
    assert run["found"] == run["created"] + run["updated"] + run["duplicates"] + run["rejected"]
    assert run["found"] > 0
    history = (await client.get(f"/v1/icps/{icp_id}/search-runs")).json()
    assert [item["id"] for item in history["items"]] == [body["run_id"]]


async def test_a_search_with_no_body_uses_the_icp_source(client) -> None:
    icp_id = (await client.post("/v1/icps", json=ICP)).json()["id"]
    assert (await client.post(f"/v1/icps/{icp_id}/search")).status_code == 202


async def test_apollo_without_a_key_answers_503(client) -> None:
    icp_id = (await client.post("/v1/icps", json={**ICP, "source": "apollo"})).json()["id"]
    response = await client.post(f"/v1/icps/{icp_id}/search")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_not_configured"


async def test_changing_criteria_rescores_the_leads(client, runtime) -> None:
    icp_id = (await client.post("/v1/icps", json=ICP)).json()["id"]
    run_id = (await client.post(f"/v1/icps/{icp_id}/search", json={"max_results": 20})).json()[
        "run_id"
    ]
    await drain(runtime)
    leads = (await client.get("/v1/leads", params={"limit": 200})).json()["items"]
    assert leads and run_id
    patched = await client.patch(
        f"/v1/icps/{icp_id}",
        json={"criteria": {"titles": ["Nobody has this title"]}},
    )
    assert patched.status_code == 200
    await drain(runtime)
    from sqlalchemy import select

    from leadflood.models import Lead

    async with runtime.db.session() as session:
        rows = (await session.execute(select(Lead.score, Lead.score_breakdown))).all()
    assert rows and all(score == 0 for score, _ in rows)
    assert all(b[0]["label"] == "title not in Nobody has this title" for _, b in rows)


async def test_another_workspace_sees_nothing(
    client, anon_client, other_workspace: Account, runtime
) -> None:
    icp_id = (await client.post("/v1/icps", json=ICP)).json()["id"]
    run_id = (await client.post(f"/v1/icps/{icp_id}/search")).json()["run_id"]
    headers = other_workspace.headers
    for path in (
        f"/v1/icps/{icp_id}",
        f"/v1/icps/{icp_id}/search-runs",
        f"/v1/icps/{icp_id}/search-runs/{run_id}",
    ):
        assert (await anon_client.get(path, headers=headers)).status_code == 404, path
    assert (await anon_client.post(f"/v1/icps/{icp_id}/search", headers=headers)).status_code == 404
    patch = await anon_client.patch(f"/v1/icps/{icp_id}", json={"name": "x"}, headers=headers)
    assert patch.status_code == 404
    assert (await anon_client.delete(f"/v1/icps/{icp_id}", headers=headers)).status_code == 404
    assert (await anon_client.get("/v1/icps", headers=headers)).json()["items"] == []
    missing = await client.get(f"/v1/icps/{icp_id}/search-runs/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "search_run_not_found"


async def test_viewers_read_but_do_not_change(anon_client, make_user, owner: Account) -> None:
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    headers = viewer.headers
    assert (await anon_client.get("/v1/icps", headers=headers)).status_code == 200
    assert (await anon_client.post("/v1/icps", json=ICP, headers=headers)).status_code == 403
