from __future__ import annotations

import uuid

from sqlalchemy import text

from leadflood.errors import Conflict
from leadflood.leads import service as leads
from leadflood.leads.schemas import LeadCreate
from leadflood.runtime import Runtime
from leadflood.web.deps import SessionDep, WorkspaceDep
from tests.support.jobs import job_rows


async def test_create_lead_stores_it_new_and_defers_enrichment(client, runtime: Runtime) -> None:
    response = await client.post(
        "/v1/leads", json={"email": "Jane.Doe@Acme.com", "first_name": "Jane"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"lead_id", "job_id"}

    lead = (await client.get(f"/v1/leads/{body['lead_id']}")).json()
    assert lead["status"] == "new"
    assert (
        lead["email"] == "Jane.Doe@acme.com"
    )  # the domain is case-insensitive; the local part is kept

    jobs = await job_rows(runtime)
    assert [(j["id"], j["task_name"], j["status"]) for j in jobs] == [
        (body["job_id"], "leads.enrich", "todo")
    ]
    assert jobs[0]["args"] == {"lead_id": body["lead_id"]}

    job = (await client.get(f"/v1/jobs/{body['job_id']}")).json()
    assert job["status"] == "queued"
    assert job["subject_id"] == body["lead_id"]


async def test_invalid_input_is_422_with_field_details(client) -> None:
    response = await client.post(
        "/v1/leads", json={"email": "not-an-email", "phone": "12", "colour": "red"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["request_id"] == response.headers["x-request-id"]
    fields = {d["field"]: d["type"] for d in error["details"]}
    assert fields["email"] == "value_error"
    assert fields["phone"] == "value_error"
    assert fields["colour"] == "extra_forbidden"


async def test_same_email_twice_is_a_conflict_whatever_the_case(client, runtime) -> None:
    assert (await client.post("/v1/leads", json={"email": "a@b.co"})).status_code == 201
    second = await client.post("/v1/leads", json={"email": "A@B.CO"})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "lead_exists"
    assert len(await job_rows(runtime)) == 1


async def test_unknown_lead_and_job_are_404(client) -> None:
    response = await client.get(f"/v1/leads/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "lead_not_found"
    assert (await client.get("/v1/jobs/999999")).json()["error"]["code"] == "job_not_found"


async def test_keyset_pagination_walks_every_lead_once(client) -> None:
    emails = {f"p{i}@example.com" for i in range(7)}
    for email in sorted(emails):
        assert (await client.post("/v1/leads", json={"email": email})).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/leads", params=params)).json()
        seen += [item["email"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(emails)
    assert len(seen) == len(emails)


async def test_bad_cursor_and_page_size_are_rejected(client) -> None:
    bad = await client.get("/v1/leads", params={"cursor": "!!!"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_cursor"
    assert (await client.get("/v1/leads", params={"limit": 5000})).status_code == 422


async def test_a_rolled_back_request_leaves_no_job_behind(app, client, runtime) -> None:
    @app.post("/test/create-then-fail")
    async def create_then_fail(session: SessionDep, workspace: WorkspaceDep) -> None:
        await leads.create(session, workspace.id, LeadCreate(email="gone@example.com"))
        raise Conflict("the request fails after the job was deferred")

    response = await client.post("/test/create-then-fail")
    assert response.status_code == 409
    assert await job_rows(runtime) == []
    async with runtime.db.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM leads")) == 0
        assert await session.scalar(text("SELECT count(*) FROM job_executions")) == 0
