""" "Send a test to myself": step N rendered for a real lead, queued to the signed-in user's own
address through a chosen mailbox. The message has no enrollment and no lead, so it never counts
as the lead's message (nor in a sequence's stats) and never blocks the real step; it goes out
through the normal delivery path (caps, TEST_MODE, unsubscribe headers) marked as a test."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import get_scoped
from leadflood.errors import Conflict
from leadflood.leads.service import LeadNotFound
from leadflood.mailboxes import service as mailboxes
from leadflood.models import Company, Lead, MailboxState, Message, MessageStatus
from leadflood.sending import delivery
from leadflood.sequences import service as sequences
from leadflood.sequences.api_schemas import TestSendRequest, TestSendResult
from leadflood.sequences.compose import render_step, with_footer
from leadflood.sequences.errors import InvalidTemplate, StepNotFound
from leadflood.sequences.outbox import sender_domain
from leadflood.sequences.templating import TemplateError
from leadflood.settings import Settings
from leadflood.suppressions import unsubscribe

TEST_HEADER = "X-Leadflood-Test"
TEST_PREFIX = "[Test] "


class MailboxNotActive(Conflict):
    code = "mailbox_not_active"
    message = "This mailbox is paused or in error; resume it first."


async def queue_test(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    sequence_id: uuid.UUID,
    data: TestSendRequest,
    *,
    to: str,
    now: datetime,
) -> TestSendResult:
    sequence = await sequences.get(session, workspace_id, sequence_id)
    step = next((s for s in sequence.steps if s.position == data.step), None)
    if step is None or not step.variants:
        raise StepNotFound(f"This sequence has no step {data.step}.")
    lead = await get_scoped(session, Lead, workspace_id, data.lead_id, error=LeadNotFound)
    mailbox = await mailboxes.get(session, workspace_id, data.mailbox_id)
    if mailbox.state != MailboxState.active:
        raise MailboxNotActive()
    company = await session.get(Company, lead.company_id) if lead.company_id else None
    try:
        rendered = render_step(
            sequence=sequence, step=step, lead=lead, company=company, mailbox=mailbox, previous=None
        )
    except TemplateError as exc:
        raise InvalidTemplate(exc, field="template", variant=f"step {step.position}") from None
    token = await unsubscribe.issue_token(session, workspace_id, None, to)
    body_text, body_html = with_footer(
        rendered, unsubscribe.footer(settings, token, sequence.postal_address)
    )
    subject = TEST_PREFIX + (rendered.subject or f"Step {step.position}")
    message = Message(
        workspace_id=workspace_id,
        mailbox_id=mailbox.id,
        variant_id=rendered.variant.id,
        channel="email",
        direction="outbound",
        status=MessageStatus.queued,
        to_address=to,
        from_address=mailbox.from_email,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        headers={
            **unsubscribe.headers(settings, token, mailto=mailbox.reply_to or mailbox.from_email),
            TEST_HEADER: f"sequence={sequence.id}; step={step.position}; lead={lead.id}",
        },
        message_id=delivery.new_message_id(sender_domain(mailbox)),
        provider=mailbox.provider,
        send_after=now,
        attempts=0,
    )
    session.add(message)
    await session.flush()
    return TestSendResult(message_id=message.id, to=to, subject=subject, mailbox_id=mailbox.id)
