"""The Inbox pages through a signed-in browser session: the list with its filters and the
sidebar's unread count, a thread (both directions, evidence, the lead card), and the forms a
person uses (reply, done, unread, assign, correct a label)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from leadflood.models import Message, Suppression, Thread, ThreadState
from leadflood.runtime import Runtime
from tests.factories import (
    FIXED_NOW,
    make_bare_sequence,
    make_lead,
    make_mailbox,
    make_replied_thread,
)
from tests.support.accounts import Account, browser_login, csrf_of

ANSWERS = {
    "ada": "Sounds interesting, can we talk on Thursday?",
    "bob": "Not interested, thanks.",
    "cy": "How much does it cost per seat?",
}


async def _setup(runtime: Runtime, owner: Account) -> dict[str, Thread]:
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, from_email="sam@sender.example")
        sequence, (step,) = await make_bare_sequence(session, owner.workspace_id, name="Launch")
        threads = {}
        for i, (name, body) in enumerate(ANSWERS.items()):
            lead = await make_lead(
                session, owner.workspace_id, email=f"{name}@prospect.example",
                first_name=name.title(), last_name="Doe", company_name=f"{name.title()} Corp",
            )  # fmt: skip
            threads[name], _ = await make_replied_thread(
                session, runtime.settings, box, lead, body=body, sequence=sequence, step=step,
                replied_at=FIXED_NOW + timedelta(hours=i + 1),
            )  # fmt: skip
    return threads


def _sidebar_count(html: str) -> str | None:
    found = re.search(r'href="/inbox"[^>]*>.*?<span class="count">(\d+)</span>', html, re.S)
    return found.group(1) if found else None


async def test_the_inbox_lists_threads_with_their_labels_and_the_unread_count(
    anon_client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    empty = await anon_client.get("/inbox")
    assert empty.status_code == 200 and "No answers yet" in empty.text
    assert _sidebar_count(empty.text) is None
    threads = await _setup(runtime, owner)

    page = await anon_client.get("/inbox")
    assert _sidebar_count(page.text) == "3"
    assert page.text.index("Cy Doe") < page.text.index("Bob Doe") < page.text.index("Ada Doe")
    assert 'data-label="interested"' in page.text and 'data-label="not_interested"' in page.text
    assert page.text.count('class="unread-dot"') == 3

    interested = await anon_client.get("/inbox", params={"label": "interested"})
    assert "Ada Doe" in interested.text and "Bob Doe" not in interested.text
    replies = await anon_client.get("/inbox", params={"label": "kind:reply", "unread": "1"})
    assert all(f"{n.title()} Doe" in replies.text for n in ANSWERS)
    nobody = await anon_client.get("/inbox", params={"assignee": "me"})
    assert "No thread matches these filters" in nobody.text
    odd = await anon_client.get("/inbox", params={"mailbox": "nope", "state": "weird"})
    assert odd.status_code == 200 and "Ada Doe" in odd.text

    thread = await anon_client.get(f"/inbox/{threads['bob'].id}")
    assert thread.status_code == 200
    assert _sidebar_count(thread.text) == "2"  # opening it read it
    text = thread.text
    assert "Not interested, thanks." in text and "Would a short call make sense?" in text
    assert 'class="msg msg-outbound"' in text and 'class="msg msg-inbound"' in text
    assert 'data-status="sent"' in text and 'data-label="not_interested"' in text
    assert "Why “not interested”" in text and "Enrollment stopped: the lead replied." in text
    assert "Launch" in text and 'data-status="stopped"' in text and "Replied" in text
    assert "Bob Corp" in text
    # j/k walk the same list: Cy is above Bob, Ada below.
    assert f'href="/inbox/{threads["cy"].id}" data-key="prev"' in text
    assert f'href="/inbox/{threads["ada"].id}" data-key="next"' in text
    async with runtime.db.session() as session:
        row = await session.get(Thread, threads["bob"].id)
    assert row is not None and row.unread is False


async def test_the_thread_forms(
    anon_client: httpx.AsyncClient, runtime: Runtime, owner: Account
) -> None:
    await browser_login(anon_client, owner)
    threads = await _setup(runtime, owner)
    bob = threads["bob"]
    page = await anon_client.get(f"/inbox/{bob.id}?label=kind:reply")
    token = csrf_of(page.text)

    async def post(path: str, **data: Any) -> httpx.Response:
        return await anon_client.post(path, data={"csrf_token": token, **data})

    empty = await post(f"/inbox/{bob.id}/reply", body="  ")
    assert empty.status_code == 422 and "Write the reply first." in empty.text
    sent = await post(f"/inbox/{bob.id}/reply?label=kind:reply", body="Understood, thanks Bob.")
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"/inbox/{bob.id}?label=kind%3Areply&notice=replied")
    after = await anon_client.get(sent.headers["location"])
    assert "Understood, thanks Bob." in after.text and "Your reply is queued" in after.text
    assert "your reply" in after.text and 'data-status="queued"' in after.text

    fixed = await post(
        f"/inbox/{bob.id}/messages/{await _answer_id(runtime, bob)}/classification",
        classification="reply:question",
    )
    assert fixed.status_code == 303
    async with runtime.db.session() as session:
        row = await session.get(Thread, bob.id)
    assert row is not None and row.label == "question"

    assigned = await post(f"/inbox/{bob.id}", action="assign", assignee_id=str(owner.user_id))
    assert assigned.status_code == 303
    mine = await anon_client.get("/inbox", params={"assignee": "me"})
    assert "Bob Doe" in mine.text and "Ada Doe" not in mine.text

    unread = await post(f"/inbox/{bob.id}", action="unread")
    assert unread.headers["location"] == "/inbox"
    done = await post(f"/inbox/{bob.id}", action="done")
    # Done goes on to the next thread of the list, as in a mail client (Bob's is the latest
    # since the reply, so Cy's comes next).
    assert done.headers["location"] == f"/inbox/{threads['cy'].id}"
    async with runtime.db.session() as session:
        row = await session.get(Thread, bob.id)
    assert row is not None and row.state == ThreadState.done and row.unread is True
    assert "Bob Doe" not in (await anon_client.get("/inbox")).text
    assert "Bob Doe" in (await anon_client.get("/inbox", params={"state": "done"})).text

    async with runtime.db.session() as session:
        session.add(
            Suppression(
                workspace_id=owner.workspace_id,
                kind="email",
                value="ada@prospect.example",
                reason="unsubscribed",
            )
        )
    refused = await post(f"/inbox/{threads['ada'].id}/reply", body="One more thing…")
    assert refused.status_code == 409
    assert "recipient_suppressed" in refused.text and "One more thing…" in refused.text
    async with runtime.db.session() as session:
        ours = await session.scalars(
            select(Message).where(
                Message.thread_id == threads["ada"].id, Message.direction == "outbound"
            )
        )
        assert len(ours.all()) == 1


async def _answer_id(runtime: Runtime, thread: Thread) -> str:
    async with runtime.db.session() as session:
        found = await session.scalar(
            select(Message.id).where(Message.thread_id == thread.id, Message.direction == "inbound")
        )
    return str(found)
