"""Lists, tags, notes, owners and a lead's outreach through the API."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from leadflood.models import AuditEvent, MessageStatus
from tests.factories import make_lead, make_mailbox, make_sequence, queue_message
from tests.imports.test_routes import upload
from tests.support.jobs import drain


async def _leads(runtime, workspace_id, *emails: str, **values) -> list[uuid.UUID]:
    async with runtime.db.session() as session:
        made = [await make_lead(session, workspace_id, email=e, **values) for e in emails]
        ids = [lead.id for lead in made]
        await session.commit()
    return ids


async def _emails(client, path: str, **params) -> set[str]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return {lead["email"] for lead in answer.json()["items"]}


async def test_a_list_is_filled_by_ids_and_filter_paged_and_emptied(client, runtime, owner):
    a, _b, c = await _leads(runtime, owner.workspace_id, "a@x.io", "b@x.io", "c@y.io")
    created = await client.post("/v1/lists", json={"name": "Conference 2026"})
    assert created.status_code == 201, created.text
    list_id = created.json()["id"]
    again = await client.post("/v1/lists", json={"name": "conference 2026"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "list_exists"

    added = await client.post(f"/v1/lists/{list_id}/leads", json={"lead_ids": [str(a)]})
    assert added.json() == {"changed": 1}
    by_filter = await client.post(f"/v1/lists/{list_id}/leads", json={"filter": {"q": "@x.io"}})
    assert by_filter.json() == {"changed": 1}  # a is already in it
    both = await client.post(
        f"/v1/lists/{list_id}/leads", json={"lead_ids": [str(a)], "filter": {}}
    )
    assert both.status_code == 422 and both.json()["error"]["code"] == "invalid_selection"

    assert await _emails(client, f"/v1/lists/{list_id}/leads") == {"a@x.io", "b@x.io"}
    assert await _emails(client, "/v1/leads", list_id=list_id) == {"a@x.io", "b@x.io"}
    first = (await client.get(f"/v1/lists/{list_id}/leads", params={"limit": 1})).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = await client.get(
        f"/v1/lists/{list_id}/leads", params={"limit": 1, "cursor": first["next_cursor"]}
    )
    assert {first["items"][0]["email"], second.json()["items"][0]["email"]} == {"a@x.io", "b@x.io"}
    assert (await client.get(f"/v1/lists/{list_id}")).json()["members"] == 2
    assert [(x["name"], x["members"]) for x in (await client.get("/v1/lists")).json()] == [
        ("Conference 2026", 2)
    ]

    removed = await client.request(
        "DELETE", f"/v1/lists/{list_id}/leads", json={"filter": {"q": "a@"}}
    )
    assert removed.json() == {"changed": 1}
    assert await _emails(client, f"/v1/lists/{list_id}/leads") == {"b@x.io"}
    renamed = await client.patch(f"/v1/lists/{list_id}", json={"name": "Booth visitors"})
    assert renamed.json()["name"] == "Booth visitors"
    assert (await client.delete(f"/v1/lists/{list_id}")).status_code == 204
    gone = await client.get(f"/v1/lists/{list_id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "list_not_found"
    assert len(await _emails(client, "/v1/leads")) == 3  # the leads stay
    async with runtime.db.session() as session:
        actions = set(await session.scalars(select(AuditEvent.action)))
    assert {"list.created", "list.leads_added", "list.leads_removed", "list.deleted"} <= actions
    assert c  # never added


async def test_a_list_of_another_workspace_is_not_found(client, runtime, other_workspace):
    [theirs] = await _leads(runtime, other_workspace.workspace_id, "t@globex.example")
    list_id = (await client.post("/v1/lists", json={"name": "Mine"})).json()["id"]
    answer = await client.post(f"/v1/lists/{list_id}/leads", json={"lead_ids": [str(theirs)]})
    assert answer.json() == {"changed": 0}  # another workspace's lead is never added
    missing = await client.get(f"/v1/lists/{uuid.uuid4()}/leads")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "list_not_found"


async def test_tags_are_added_removed_and_filtered(client, runtime, owner):
    a, b = await _leads(runtime, owner.workspace_id, "a@x.io", "b@x.io")
    tagged = await client.post(
        "/v1/leads/bulk/tag", json={"lead_ids": [str(a), str(b)], "tags": ["VIP ", "Hot  Lead"]}
    )
    assert tagged.json() == {"changed": 2}
    lead = (await client.get(f"/v1/leads/{a}")).json()
    assert lead["tags"] == ["hot lead", "vip"]
    again = await client.post("/v1/leads/bulk/tag", json={"filter": {}, "tags": ["vip"]})
    assert again.json() == {"changed": 0}
    assert await _emails(client, "/v1/leads", tag="VIP") == {"a@x.io", "b@x.io"}
    assert await _emails(client, "/v1/leads", tag="  ") == {"a@x.io", "b@x.io"}
    too_long = await client.get("/v1/leads", params={"tag": "x" * 65})
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "validation_error"

    untagged = await client.post(
        "/v1/leads/bulk/untag", json={"filter": {"q": "a@"}, "tags": ["vip"]}
    )
    assert untagged.json() == {"changed": 1}
    assert await _emails(client, "/v1/leads", tag="vip") == {"b@x.io"}
    assert (await client.get(f"/v1/leads/{a}")).json()["tags"] == ["hot lead"]
    empty = await client.post("/v1/leads/bulk/tag", json={"lead_ids": [str(a)], "tags": [" "]})
    assert empty.status_code == 422


async def test_notes_are_added_listed_and_deleted_by_their_author(
    client, runtime, owner, make_user, app
):
    import httpx

    [lead] = await _leads(runtime, owner.workspace_id, "a@x.io")
    made = await client.post(f"/v1/leads/{lead}/notes", json={"text": "  Met at the booth.  "})
    assert made.status_code == 201, made.text
    note = made.json()
    assert note["text"] == "Met at the booth." and note["author"]
    blank = await client.post(f"/v1/leads/{lead}/notes", json={"text": "   "})
    assert blank.status_code == 422
    assert [d["field"] for d in blank.json()["error"]["details"]] == ["text"]
    assert await _emails(client, "/v1/leads", has_notes="true") == {"a@x.io"}
    assert await _emails(client, "/v1/leads", has_notes="false") == set()

    colleague = await make_user(role="member", workspace=owner.workspace_id, email="m@acme.io")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=colleague.headers
    ) as other:
        refused = await other.delete(f"/v1/leads/{lead}/notes/{note['id']}")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "note_not_yours"
    deleted = await client.delete(f"/v1/leads/{lead}/notes/{note['id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"/v1/leads/{lead}/notes")).json() == []
    async with runtime.db.session() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert "lead.note_added" in actions and "lead.note_deleted" in actions


async def test_the_owner_is_a_member_of_the_workspace(
    client, runtime, owner, make_user, other_workspace
):
    [lead] = await _leads(runtime, owner.workspace_id, "a@x.io")
    colleague = await make_user(role="member", workspace=owner.workspace_id, email="m@acme.io")
    outsider = await client.patch(
        f"/v1/leads/{lead}", json={"owner_id": str(other_workspace.user_id)}
    )
    assert outsider.status_code == 422 and outsider.json()["error"]["code"] == "owner_not_member"
    set_ = await client.patch(f"/v1/leads/{lead}", json={"owner_id": str(colleague.user_id)})
    assert set_.status_code == 200 and set_.json()["owner_id"] == str(colleague.user_id)
    assert await _emails(client, "/v1/leads", owner_id=str(colleague.user_id)) == {"a@x.io"}
    cleared = await client.patch(f"/v1/leads/{lead}", json={"owner_id": None})
    assert cleared.json()["owner_id"] is None


async def test_a_list_is_enrolled_by_its_filter(client, runtime, owner):
    a, _b = await _leads(runtime, owner.workspace_id, "a@x.io", "b@x.io")
    list_id = (await client.post("/v1/lists", json={"name": "Enroll me"})).json()["id"]
    await client.post(f"/v1/lists/{list_id}/leads", json={"lead_ids": [str(a)]})
    async with runtime.db.session() as session:
        mailbox = await make_mailbox(session, owner.workspace_id)
        sequence = await make_sequence(session, owner.workspace_id, mailboxes=[mailbox])
        await session.commit()
    enrolled = await client.post(
        f"/v1/sequences/{sequence.id}/enrollments", json={"filter": {"list_id": list_id}}
    )
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["enrolled"] == 1


async def test_an_import_fills_a_list_with_created_and_updated_leads(client, runtime, owner):
    await _leads(runtime, owner.workspace_id, "ada@analytical.io", "old@x.io")
    list_id = (await client.post("/v1/lists", json={"name": "Imported"})).json()["id"]
    body = (await upload(client, list_id=list_id)).json()
    assert body["list_id"] == list_id
    await client.put(f"/v1/imports/{body['id']}/mapping", json={"on_duplicate": "update"})
    assert (await client.post(f"/v1/imports/{body['id']}/start")).status_code == 202
    await drain(runtime)
    members = await _emails(client, f"/v1/lists/{list_id}/leads")
    assert members == {"ada@analytical.io", "grace@navy.example.com"}
    unknown = await upload(client, list_id=str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "list_not_found"


async def test_skipped_duplicates_of_an_import_do_not_join_its_list(client, runtime, owner):
    await _leads(runtime, owner.workspace_id, "ada@analytical.io")
    list_id = (await client.post("/v1/lists", json={"name": "New only"})).json()["id"]
    body = (await upload(client, list_id=list_id)).json()
    await client.post(f"/v1/imports/{body['id']}/start")
    await drain(runtime)
    assert await _emails(client, f"/v1/lists/{list_id}/leads") == {"grace@navy.example.com"}


async def test_a_leads_messages_name_their_sequence_step_and_status(
    client, runtime, owner, settings
):
    async with runtime.db.session() as session:
        mailbox = await make_mailbox(session, owner.workspace_id)
        sequence = await make_sequence(session, owner.workspace_id, mailboxes=[mailbox])
        lead = await make_lead(session, owner.workspace_id, email="a@x.io")
        from leadflood.models import SequenceStep

        step = await session.scalar(
            select(SequenceStep).where(SequenceStep.sequence_id == sequence.id)
        )
        message = await queue_message(session, settings, mailbox, lead, step=step)
        message.status = MessageStatus.unconfirmed
        message.error = "connection lost during DATA"
        await session.commit()
    answer = await client.get(f"/v1/leads/{lead.id}/messages")
    assert answer.status_code == 200, answer.text
    [row] = answer.json()
    assert row["status"] == "unconfirmed" and row["error"] == "connection lost during DATA"
    assert row["sequence_name"] == sequence.name and row["step"] == 1
