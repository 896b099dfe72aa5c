"""Each place that changes what a webhook reports writes its event in the same transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from leadflood import events
from leadflood.imports import pipeline as import_pipeline
from leadflood.imports import service as importing
from leadflood.leads import service as leads
from leadflood.leads.schemas import LeadCreate, LeadUpdate
from leadflood.models import MessageStatus, OnDuplicate, WebhookEvent
from leadflood.providers.base import SendResult
from leadflood.runtime import Runtime
from leadflood.sending.claim import Claimed
from leadflood.sending.marks import Marks
from leadflood.sending.outcomes import Sent
from leadflood.suppressions import unsubscribe
from leadflood.webhooks import service as webhooks
from leadflood.webhooks.schemas import EndpointCreate
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_replied_thread,
    queue_message,
)
from tests.support.accounts import Account
from tests.webhooks.test_delivery import _member


async def _subscribe(runtime: Runtime, owner: Account) -> None:
    async with runtime.db.session() as session:
        await webhooks.create(
            session,
            await _member(session, owner),
            EndpointCreate(url="https://hooks.example.com/in", events=list(events.EVENT_TYPES)),
        )


async def _events(runtime: Runtime, event_type: str) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(WebhookEvent.data)
            .where(WebhookEvent.type == event_type)
            .order_by(WebhookEvent.created_at)
        )
        return list(rows.all())


async def test_no_subscription_no_event(runtime: Runtime, owner: Account) -> None:
    async with runtime.db.session() as session:
        await leads.create(session, owner.workspace_id, LeadCreate(email="ada@example.com"))
    assert await _events(runtime, events.LEAD_CREATED) == []


async def test_lead_created_and_updated(runtime: Runtime, owner: Account) -> None:
    await _subscribe(runtime, owner)
    async with runtime.db.session() as session:
        lead, _ = await leads.create(
            session, owner.workspace_id, LeadCreate(email="ada@example.com", first_name="Ada")
        )
    async with runtime.db.session() as session:
        await leads.update(session, owner.workspace_id, lead.id, LeadUpdate(title="CTO"))
        # no change, no event
        await leads.update(session, owner.workspace_id, lead.id, LeadUpdate(title="CTO"))
    [created] = await _events(runtime, events.LEAD_CREATED)
    assert created["id"] == str(lead.id) and created["email"] == "ada@example.com"
    [updated] = await _events(runtime, events.LEAD_UPDATED)
    assert updated["title"] == "CTO" and updated["changed"] == ["title"]


async def test_reply_received_and_enrollment_stopped(runtime: Runtime, owner: Account) -> None:
    await _subscribe(runtime, owner)
    async with runtime.db.session() as session:
        mailbox = await make_mailbox(session, owner.workspace_id)
        lead = await make_lead(session, owner.workspace_id, email="ada@prospect.example")
        thread, answer = await make_replied_thread(session, runtime.settings, mailbox, lead)
    [reply] = await _events(runtime, events.REPLY_RECEIVED)
    assert reply["message_id"] == str(answer.id) and reply["thread_id"] == str(thread.id)
    assert reply["lead_id"] == str(lead.id) and reply["label"]
    [stopped] = await _events(runtime, events.ENROLLMENT_STOPPED)
    assert stopped["lead_id"] == str(lead.id) and stopped["reason"]


async def test_unsubscribe(runtime: Runtime, owner: Account) -> None:
    await _subscribe(runtime, owner)
    async with runtime.db.session() as session:
        lead = await make_lead(session, owner.workspace_id, email="bo@prospect.example")
        sequence, _ = await make_bare_sequence(session, owner.workspace_id)
        enrollment = await make_enrollment(session, owner.workspace_id, sequence.id, lead.id)
        email = "bo@prospect.example"
        token = await unsubscribe.issue_token(session, owner.workspace_id, lead.id, email)
    async with runtime.db.session() as session:
        await unsubscribe.unsubscribe(session, token)
    async with runtime.db.session() as session:  # a second click changes nothing: no event
        await unsubscribe.unsubscribe(session, token)
    [unsub] = await _events(runtime, events.CONTACT_UNSUBSCRIBED)
    assert unsub["email"] == "bo@prospect.example" and unsub["lead_id"] == str(lead.id)
    [stopped] = await _events(runtime, events.ENROLLMENT_STOPPED)
    assert stopped["enrollment_id"] == str(enrollment.id)
    assert stopped["reason"] == "unsubscribed"


async def test_message_sent_from_the_lane_mark(runtime: Runtime, owner: Account) -> None:
    await _subscribe(runtime, owner)
    async with runtime.db.session() as session:
        mailbox = await make_mailbox(session, owner.workspace_id)
        lead = await make_lead(session, owner.workspace_id)
        message = await queue_message(session, runtime.settings, mailbox, lead)
        message.status = MessageStatus.sending
        await session.flush()
        message_id, to = message.id, message.to_address
    at = datetime.now(UTC)
    claimed = Claimed(
        id=message_id, workspace_id=owner.workspace_id, enrollment_id=None, to_address=to,
        attempt=1, planned_at=at, build=lambda: None,
    )  # fmt: skip
    marks = Marks(runtime.db)
    try:
        await marks.step(None, at, Sent(claimed, SendResult("smtp", "pid-1", "250", "ok"), at))
    finally:
        await marks.aclose()
    [sent] = await _events(runtime, events.MESSAGE_SENT)
    assert sent["message_id"] == str(message_id) and sent["provider_message_id"] == "pid-1"
    assert sent["lead_id"] == str(lead.id) and sent["to"] == to


async def test_import_finished(runtime: Runtime, owner: Account, tmp_path: Path) -> None:
    await _subscribe(runtime, owner)
    path = tmp_path / "leads.csv"
    path.write_text("First Name,Email\r\nAda,ada@example.com\r\nBo,bo@example.com\r\n")
    async with runtime.db.session() as session:
        imp = await importing.create_from_path(
            session, runtime.settings, owner.workspace_id, path, on_duplicate=OnDuplicate.skip,
            overrides=None,
        )  # fmt: skip
    await import_pipeline.run(runtime.db, runtime.settings, imp.id)
    [done] = await _events(runtime, events.IMPORT_FINISHED)
    assert done["import_id"] == str(imp.id) and done["created"] == 2


async def test_events_of_another_workspace_stay_there(
    runtime: Runtime, owner: Account, other_workspace: Account
) -> None:
    await _subscribe(runtime, owner)
    async with runtime.db.session() as session:
        await leads.create(session, other_workspace.workspace_id, LeadCreate(email="x@ex.com"))
    assert await _events(runtime, events.LEAD_CREATED) == []
    assert uuid.UUID(str(owner.workspace_id))
