from __future__ import annotations

from sqlalchemy import select

from leadflood.models import AuditEvent, Company, EnrollmentState
from tests.factories import make_enrollment, make_lead, make_mailbox, make_sequence, make_workspace
from tests.support.accounts import browser_login, csrf_of


async def _company(session, workspace_id, domain: str, **values) -> Company:
    company = Company(workspace_id=workspace_id, domain=domain, **values)
    session.add(company)
    await session.flush()
    return company


async def test_list_search_pages_and_people_with_enrollments(client, runtime, owner) -> None:
    ws = owner.workspace_id
    async with runtime.db.session() as session:
        acme = await _company(session, ws, "acme.com", name="Acme", industry="Software")
        for i in range(3):
            await _company(session, ws, f"other-{i}.io", name=f"Other {i}")
        linked = await make_lead(session, ws, company_id=acme.id, first_name="Ada", score=80)
        await make_lead(session, ws, email="bo@acme.com", company_domain="ACME.com", score=20)
        mailbox = await make_mailbox(session, ws)
        sequence = await make_sequence(session, ws, mailboxes=[mailbox])
        await make_enrollment(session, ws, sequence.id, linked.id)
        foreign = (await make_workspace(session)).id
        hidden = await _company(session, foreign, "hidden.com")

    first = (await client.get("/v1/companies", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (await client.get("/v1/companies", params={"cursor": first["next_cursor"]})).json()
    seen = [c["domain"] for c in first["items"] + second["items"]]
    assert sorted(seen) == ["acme.com", "other-0.io", "other-1.io", "other-2.io"]
    found = (await client.get("/v1/companies", params={"q": "ACM"})).json()["items"]
    assert [(c["domain"], c["lead_count"]) for c in found] == [("acme.com", 2)]

    detail = (await client.get(f"/v1/companies/{acme.id}")).json()
    assert [p["score"] for p in detail["people"]] == [80, 20]
    assert detail["people"][0]["enrollments"] == {sequence.name: EnrollmentState.active.value}
    assert detail["people"][1]["enrollments"] == {}
    missing = await client.get(f"/v1/companies/{hidden.id}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "company_not_found"


async def test_patch_edits_checks_and_audits(client, runtime, owner) -> None:
    async with runtime.db.session() as session:
        acme = await _company(session, owner.workspace_id, "acme.com", name="Acme")
        await _company(session, owner.workspace_id, "taken.com")
    changed = await client.patch(
        f"/v1/companies/{acme.id}",
        json={"name": "Acme Inc", "domain": "https://www.Acme.io/about", "employee_count": 120,
              "industry": "Robotics"},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["domain"], body["employee_count"], body["industry"]) == (
        "Acme Inc", "acme.io", 120, "Robotics",
    )  # fmt: skip
    taken = await client.patch(f"/v1/companies/{acme.id}", json={"domain": "TAKEN.com"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "company_exists"
    bad = await client.patch(f"/v1/companies/{acme.id}", json={"domain": "not a domain"})
    assert bad.status_code == 422
    negative = await client.patch(f"/v1/companies/{acme.id}", json={"employee_count": 0})
    assert negative.status_code == 422
    async with runtime.db.session() as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "company.updated")
        )
    assert event is not None and event.details["changes"]["name"]["to"] == "Acme Inc"


async def test_pages_list_show_and_save(anon_client, runtime, owner) -> None:
    async with runtime.db.session() as session:
        acme = await _company(session, owner.workspace_id, "acme.com", name="Acme")
        await make_lead(session, owner.workspace_id, company_id=acme.id, first_name="Ada")
    await browser_login(anon_client, owner)
    listing = await anon_client.get("/companies")
    assert listing.status_code == 200 and f"/companies/{acme.id}" in listing.text
    page = await anon_client.get(f"/companies/{acme.id}")
    assert page.status_code == 200 and "Ada" in page.text and "Not enrolled" in page.text
    token = csrf_of(page.text)
    bad = await anon_client.post(
        f"/companies/{acme.id}",
        data={"csrf_token": token, "name": "Acme", "domain": "", "employee_count": "lots"},
    )
    assert bad.status_code == 422
    assert "A company needs a domain." in bad.text and "whole number" in bad.text
    good = await anon_client.post(
        f"/companies/{acme.id}",
        data={"csrf_token": token, "name": "Acme Ltd", "domain": "acme.co.uk",
              "employee_count": "40", "industry": ""},
    )  # fmt: skip
    assert good.status_code == 303
    shown = await anon_client.get(good.headers["location"])
    assert "Company saved." in shown.text and "Acme Ltd" in shown.text
