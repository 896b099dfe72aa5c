from __future__ import annotations

import uuid

from sqlalchemy import select

from leadflood.models import AuditEvent, Lead, VerificationStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead


async def _lead(runtime: Runtime, workspace_id: uuid.UUID, **values) -> Lead:
    async with runtime.db.session() as session:
        return await make_lead(session, workspace_id, **values)


async def _events(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows)


async def test_patch_changes_given_fields_normalises_them_and_audits(client, runtime, owner):
    lead = await _lead(
        runtime, owner.workspace_id, email="jane@acme.com", first_name="Jane", title="CTO",
        verification_status=VerificationStatus.valid, custom_fields={"plan": "pro", "seats": "3"},
    )  # fmt: skip
    response = await client.patch(
        f"/v1/leads/{lead.id}",
        json={
            "email": "Jane.Doe@Acme.com",
            "title": "VP Engineering",
            "phone": "+1 415 555 0123",
            "linkedin_url": "linkedin.com/in/jane-doe/",
            "company_domain": "https://www.Acme.com/",
            "country": "Germany",
            "timezone": "Europe/Berlin",
            "custom_fields": {"plan": "enterprise", "seats": None, "region": "emea"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "Jane.Doe@acme.com"
    assert body["first_name"] == "Jane"  # left out: kept
    assert body["phone"] == "+14155550123"
    assert body["linkedin_url"] == "https://www.linkedin.com/in/jane-doe"
    assert body["company_domain"] == "acme.com"
    assert body["country"] == "DE"
    assert body["custom_fields"] == {"plan": "enterprise", "region": "emea"}
    assert body["verification_status"] == "unverified"  # a new email is checked again

    [event] = await _events(runtime, "lead.updated")
    assert event.target_id == str(lead.id)
    changes = event.details["changes"]
    assert changes["title"] == {"old": "CTO", "new": "VP Engineering"}
    assert changes["country"] == {"old": None, "new": "DE"}
    assert changes["custom_fields"] == {"changed_keys": ["plan", "region", "seats"]}
    # Personal data is recorded as changed, never by value (an erasure must leave no trace).
    assert changes["email"] == {"changed": True, "was_empty": False, "now_empty": False}
    assert "jane" not in str(event.details).lower()


async def test_patch_null_clears_and_nothing_changed_writes_no_audit(client, runtime, owner):
    lead = await _lead(runtime, owner.workspace_id, title="CTO", city="Berlin")
    same = await client.patch(f"/v1/leads/{lead.id}", json={"title": "CTO"})
    assert same.status_code == 200
    assert await _events(runtime, "lead.updated") == []
    cleared = await client.patch(f"/v1/leads/{lead.id}", json={"city": None})
    assert cleared.json()["city"] is None


async def test_patch_validates_like_creation(client, runtime, owner):
    lead = await _lead(runtime, owner.workspace_id)
    response = await client.patch(
        f"/v1/leads/{lead.id}",
        json={
            "email": "nope",
            "phone": "12",
            "linkedin_url": "https://example.com/jane",
            "timezone": "Mars/Olympus",
            "company_size": -1,
            "colour": "red",
        },
    )
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"email", "phone", "linkedin_url", "timezone", "company_size", "colour"}
    async with runtime.db.session() as session:
        again = await session.get(Lead, lead.id)
        assert again is not None and again.email == lead.email  # nothing lost


async def test_patch_refuses_an_identity_another_lead_has(client, runtime, owner):
    first = await _lead(
        runtime, owner.workspace_id, email="a@acme.com",
        linkedin_url="https://www.linkedin.com/in/alex",
    )  # fmt: skip
    second = await _lead(runtime, owner.workspace_id, email="b@acme.com")
    taken = await client.patch(f"/v1/leads/{second.id}", json={"email": "A@ACME.com"})
    assert taken.status_code == 409
    error = taken.json()["error"]
    assert error["code"] == "lead_exists"
    assert error["details"] == {"lead_id": str(first.id), "field": "email"}
    profile = await client.patch(
        f"/v1/leads/{second.id}", json={"linkedin_url": "https://linkedin.com/in/alex"}
    )
    assert profile.status_code == 409
    assert profile.json()["error"]["details"]["field"] == "linkedin_url"
    # Its own email in another case is no conflict.
    own = await client.patch(f"/v1/leads/{first.id}", json={"email": "A@acme.com"})
    assert own.status_code == 200


async def test_patch_cannot_leave_a_lead_without_identity(client, runtime, owner):
    lead = await _lead(runtime, owner.workspace_id, email="solo@acme.com")
    response = await client.patch(f"/v1/leads/{lead.id}", json={"email": None})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "lead_needs_identity"


async def test_patch_of_another_workspace_lead_is_not_found(client, runtime, other_workspace):
    lead = await _lead(runtime, other_workspace.workspace_id)
    response = await client.patch(f"/v1/leads/{lead.id}", json={"title": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "lead_not_found"
