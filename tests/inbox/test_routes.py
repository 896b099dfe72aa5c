"""The inbox API: threads by filter in keyset pages, one thread's whole history, a person's moves
(assign, done, unread), a reply that goes out threaded through the delivery engine, refusal of
a suppressed person, and a label corrected by a person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from leadflood.models import AuditEvent, Mailbox, Message, MessageStatus, Suppression, Thread
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import (
    FIXED_NOW,
    make_bare_sequence,
    make_lead,
    make_mailbox,
    make_replied_thread,
)
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer

ANSWERS = {
    "ada": "Sounds interesting, can we talk on Thursday?",
    "bob": "Not interested, thanks.",
    "cy": "How much does it cost per seat?",
}


async def _threads(
    runtime: Runtime, workspace_id: Any, smtp: SmtpTestServer | None = None
) -> tuple[dict[str, Thread], Mailbox, Mailbox]:
    """Three leads who answered: two through one mailbox and sequence, one through another."""
    config = smtp.config() if smtp else {"host": "127.0.0.1", "port": 1}
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session, workspace_id, from_email="sam@sender.example", daily_cap=1000, config=config
        )
        other = await make_mailbox(session, workspace_id, from_email="kim@sender.example")
        sequence, (step,) = await make_bare_sequence(session, workspace_id)
        threads = {}
        for i, (name, body) in enumerate(ANSWERS.items()):
            lead = await make_lead(
                session, workspace_id, email=f"{name}@prospect.example", first_name=name.title()
            )
            threads[name], _ = await make_replied_thread(
                session,
                runtime.settings,
                other if name == "cy" else box,
                lead,
                body=body,
                sequence=None if name == "cy" else sequence,
                step=None if name == "cy" else step,
                replied_at=FIXED_NOW + timedelta(hours=i + 1),
            )
    return threads, box, other


async def test_threads_are_listed_by_filter_in_keyset_pages(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, other_workspace: Account
) -> None:
    threads, _, other = await _threads(runtime, owner.workspace_id)
    await _threads(runtime, other_workspace.workspace_id)

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/threads", params=params)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    newest_first = [str(threads[n].id) for n in ("cy", "bob", "ada")]
    assert await ids() == newest_first
    first = (await client.get("/v1/threads", params={"limit": 2})).json()
    assert [t["id"] for t in first["items"]] == newest_first[:2] and first["prev_cursor"] is None
    second = await client.get("/v1/threads", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [t["id"] for t in second.json()["items"]] == newest_first[2:]
    assert second.json()["next_cursor"] is None
    back = await ids(limit=2, cursor=second.json()["prev_cursor"])
    assert back == newest_first[:2]

    row = first["items"][1]
    assert (row["lead_email"], row["lead_name"], row["kind"], row["label"], row["unread"]) == (
        "bob@prospect.example", "Bob", "reply", "not_interested", True,
    )  # fmt: skip
    assert row["preview"] == "Not interested, thanks."
    assert await ids(label="interested") == [str(threads["ada"].id)]
    assert await ids(kind="reply") == newest_first
    assert await ids(mailbox_id=str(other.id)) == [str(threads["cy"].id)]
    assert await ids(sequence_id=str(threads["ada"].sequence_id)) == newest_first[1:]
    assert await ids(lead_id=str(threads["bob"].lead_id)) == [str(threads["bob"].id)]
    assert await ids(unread=False) == []

    done = await client.patch(f"/v1/threads/{threads['bob'].id}", json={"state": "done"})
    assert done.status_code == 200 and done.json()["state"] == "done"
    read = await client.patch(f"/v1/threads/{threads['cy'].id}", json={"unread": False})
    assert read.json()["unread"] is False
    assign = await client.patch(
        f"/v1/threads/{threads['ada'].id}", json={"assignee_id": str(owner.user_id)}
    )
    assert assign.json()["assignee_id"] == str(owner.user_id)
    assert await ids(state="done") == [str(threads["bob"].id)]
    assert await ids(state="open", unread=True) == [str(threads["ada"].id)]
    assert await ids(assignee_id=str(owner.user_id)) == [str(threads["ada"].id)]
    assert await ids(unassigned=True) == newest_first[:2]

    bad = await client.get("/v1/threads", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


async def test_a_thread_shows_both_directions_with_status_and_classification(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, other_workspace: Account
) -> None:
    threads, _, _ = await _threads(runtime, owner.workspace_id)
    thread = threads["ada"]
    response = await client.get(f"/v1/threads/{thread.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "Quick question" and body["unread"] is True
    ours, theirs = body["messages"]
    assert (ours["direction"], ours["status"]) == ("outbound", "sent")
    assert (theirs["direction"], theirs["status"]) == ("inbound", "received")
    assert ours["classification"] is None
    c = theirs["classification"]
    assert (c["kind"], c["label"]) == ("reply", "interested")
    assert c["version"].startswith("rules-") and c["evidence"]
    assert theirs["in_reply_to"] == ours["message_id"]
    assert "Thursday" in theirs["body_text"]
    # Reading through the API changes nothing; PATCH marks it read.
    assert (await client.get(f"/v1/threads/{thread.id}")).json()["unread"] is True

    elsewhere = httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver", headers=other_workspace.headers
    )
    async with elsewhere:
        missing = await elsewhere.get(f"/v1/threads/{thread.id}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "thread_not_found"

    enrollment = await client.get(f"/v1/enrollments/{thread.enrollment_id}")
    assert enrollment.status_code == 200
    assert (enrollment.json()["state"], enrollment.json()["stop_reason"]) == ("stopped", "replied")
    assert enrollment.json()["lead_email"] == "ada@prospect.example"
    gone = await client.get(f"/v1/enrollments/{thread.id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "enrollment_not_found"


async def test_moves_on_a_thread_are_checked_and_audited(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, other_workspace: Account
) -> None:
    threads, _, _ = await _threads(runtime, owner.workspace_id)
    url = f"/v1/threads/{threads['ada'].id}"
    stranger = await client.patch(url, json={"assignee_id": str(other_workspace.user_id)})
    assert stranger.status_code == 422
    assert stranger.json()["error"]["code"] == "assignee_not_member"
    assert (await client.patch(url, json={"state": None})).status_code == 422
    assert (await client.patch(url, json={"state": "archived"})).status_code == 422
    assert (await client.patch(url, json={"colour": "red"})).status_code == 422

    moved = await client.patch(
        url, json={"assignee_id": str(owner.user_id), "state": "done", "unread": False}
    )
    assert moved.status_code == 200
    assert (moved.json()["state"], moved.json()["unread"]) == ("done", False)
    again = await client.patch(url, json={"state": "done"})  # no change: nothing to audit
    assert again.status_code == 200
    unassigned = await client.patch(url, json={"assignee_id": None})
    assert unassigned.json()["assignee_id"] is None
    async with runtime.db.session() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "thread.updated")
                .order_by(AuditEvent.created_at)
            )
        ).all()
    assert [e.target_id for e in events] == [str(threads["ada"].id)] * 2
    assert events[0].details == {
        "assignee_id": [None, str(owner.user_id)],
        "state": ["open", "done"],
        "unread": [True, False],
    }
    assert events[1].details == {"assignee_id": [str(owner.user_id), None]}


async def test_a_reply_leaves_threaded_through_the_thread_s_mailbox(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account, smtp: SmtpTestServer
) -> None:
    threads, box, _ = await _threads(runtime, owner.workspace_id, smtp)
    thread = threads["ada"]
    before = (await client.get(f"/v1/threads/{thread.id}")).json()["messages"]
    ours, theirs = before
    response = await client.post(
        f"/v1/threads/{thread.id}/reply", json={"body": "Thursday 10:00 works. Talk then!"}
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["direction"], queued["status"]) == ("outbound", "queued")
    assert queued["subject"] == "Re: Quick question"
    assert queued["to_address"] == "ada@prospect.example"
    assert queued["in_reply_to"] == theirs["message_id"]
    assert queued["enrollment_id"] is None

    report = await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert report.sent == 1
    (received,) = smtp.messages
    mail = received.message
    assert received.rcpt_tos == ["ada@prospect.example"]
    assert mail["In-Reply-To"] == theirs["message_id"]
    assert mail["References"].split() == [ours["message_id"], theirs["message_id"]]
    assert mail["Subject"] == "Re: Quick question"
    assert mail["Message-ID"] == queued["message_id"]
    assert "Thursday 10:00 works." in mail.get_body(("plain",)).get_content()

    after = (await client.get(f"/v1/threads/{thread.id}")).json()
    assert [m["id"] for m in after["messages"]] == [ours["id"], theirs["id"], queued["id"]]
    assert after["messages"][2]["status"] == "sent"
    assert after["unread"] is False

    subject = await client.post(
        f"/v1/threads/{thread.id}/reply", json={"body": "PS", "subject": "Agenda for Thursday"}
    )
    assert subject.json()["subject"] == "Agenda for Thursday"
    empty = await client.post(f"/v1/threads/{thread.id}/reply", json={"body": ""})
    assert empty.status_code == 422
    async with runtime.db.session() as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "thread.replied").limit(1)
        )
    assert event is not None and event.details["message_id"] == queued["id"]


async def test_a_reply_to_a_suppressed_person_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    threads, _, _ = await _threads(runtime, owner.workspace_id)
    async with runtime.db.session() as session:
        session.add(
            Suppression(
                workspace_id=owner.workspace_id,
                kind="domain",
                value="prospect.example",
                reason="manual",
            )
        )
    response = await client.post(f"/v1/threads/{threads['ada'].id}/reply", json={"body": "Hi"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "recipient_suppressed" and error["details"]["reason"] == "manual"
    async with runtime.db.session() as session:
        replies = await session.scalars(
            select(Message).where(Message.thread_id == threads["ada"].id)
        )
    assert {m.direction for m in replies} == {"outbound", "inbound"}
    assert len((await client.get(f"/v1/threads/{threads['ada'].id}")).json()["messages"]) == 2


async def test_a_person_corrects_a_label_and_the_thread_follows(
    client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    threads, _, _ = await _threads(runtime, owner.workspace_id)
    thread = threads["bob"]
    ours, theirs = (await client.get(f"/v1/threads/{thread.id}")).json()["messages"]
    url = f"/v1/messages/{theirs['id']}/classification"

    wrong = await client.put(url, json={"kind": "reply", "label": "out_of_office"})
    assert wrong.status_code == 422 and "label must be one of" in wrong.text
    outbound = await client.put(
        f"/v1/messages/{ours['id']}/classification", json={"kind": "reply", "label": "question"}
    )
    assert outbound.status_code == 409 and outbound.json()["error"]["code"] == "not_inbound"

    fixed = await client.put(url, json={"kind": "reply", "label": "referral"})
    assert fixed.status_code == 200, fixed.text
    c = fixed.json()["classification"]
    assert (c["kind"], c["label"], c["version"]) == ("reply", "referral", "person")
    assert c["previous"]["label"] == "not_interested" and c["previous"]["evidence"]
    assert c["corrected_at"] is not None and "was reply / not_interested" in c["evidence"][0]
    listed = (await client.get("/v1/threads", params={"label": "referral"})).json()["items"]
    assert [t["id"] for t in listed] == [str(thread.id)]

    unsubscribe = await client.put(url, json={"kind": "unsubscribe", "label": None})
    assert unsubscribe.json()["classification"]["previous"]["label"] == "not_interested"
    detail = (await client.get(f"/v1/threads/{thread.id}")).json()
    assert (detail["kind"], detail["label"]) == ("unsubscribe", None)
    async with runtime.db.session() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "message.classification_corrected")
                .order_by(AuditEvent.created_at)
            )
        ).all()
    assert [e.details for e in events] == [
        {"from": {"kind": "reply", "label": "not_interested"},
         "to": {"kind": "reply", "label": "referral"}},
        {"from": {"kind": "reply", "label": "referral"},
         "to": {"kind": "unsubscribe", "label": None}},
    ]  # fmt: skip


async def test_the_thread_label_follows_the_latest_inbound_message(
    client: httpx.AsyncClient,
    anon_client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Account,
    login: Any,
) -> None:
    threads, box, _ = await _threads(runtime, owner.workspace_id)
    thread = threads["ada"]
    async with runtime.db.session() as session:
        from leadflood.inbox import process, store
        from tests.factories import reply_mail

        first = await session.scalar(
            select(Message).where(Message.thread_id == thread.id, Message.direction == "inbound")
        )
        assert first is not None
        later = FIXED_NOW + timedelta(days=1)
        raw = reply_mail(first.message_id, "Actually, please call my colleague instead.")
        mail = store.RawMail(raw=raw, folder="INBOX", uidvalidity=1, uid=2, delivered_at=later)
        await process.ingest(
            session, owner.workspace_id, [mail], source="imap", mailbox_id=box.id, now=later
        )
    tokens = await login(owner)
    person = {"Authorization": f"Bearer {tokens['access_token']}"}
    old, new = (await client.get(f"/v1/threads/{thread.id}")).json()["messages"][1:]
    assert new["classification"]["label"] != "not_interested"
    response = await anon_client.put(
        f"/v1/messages/{old['id']}/classification",
        json={"kind": "reply", "label": "not_interested"},
        headers=person,
    )
    assert response.json()["classification"]["corrected_by"] == str(owner.user_id)
    detail = (await client.get(f"/v1/threads/{thread.id}")).json()
    assert detail["label"] == new["classification"]["label"]  # the latest still decides
    await client.put(
        f"/v1/messages/{new['id']}/classification",
        json={"kind": "reply", "label": "referral"},
    )
    assert (await client.get(f"/v1/threads/{thread.id}")).json()["label"] == "referral"
    async with runtime.db.session() as session:
        row = await session.get(Message, old["id"])
        assert row is not None and row.corrected_by == owner.user_id
        assert row.status == MessageStatus.received


def test_the_api_s_label_list_is_the_rules_vocabulary() -> None:
    from typing import get_args

    from leadflood.inbox.schemas import LABELS, Label

    assert set(get_args(Label)) == {
        label for labels in LABELS.values() for label in labels if label
    }
