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
from leadflood.models import Company, Lead, MailboxState
from leadflood.sending import service as sending
from leadflood.sending.channels import Outbound
from leadflood.sequences import service as sequences
from leadflood.sequences.api_schemas import TestSendRequest, TestSendResult
from leadflood.sequences.compose import render_step
from leadflood.sequences.errors import InvalidTemplate, StepNotFound
from leadflood.sequences.templating import TemplateError
from leadflood.settings import Settings

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
    subject = TEST_PREFIX + (rendered.subject or f"Step {step.position}")
    message_id = await sending.queue(
        session,
        settings,
        Outbound(
            workspace_id=workspace_id,
            mailbox=mailbox,
            to=to,
            send_after=now,
            subject=subject,
            body_text=rendered.text,
            body_html=rendered.html,
            postal_address=sequence.postal_address,
            variant_id=rendered.variant.id,
            headers={TEST_HEADER: f"sequence={sequence.id}; step={step.position}; lead={lead.id}"},
        ),
    )
    return TestSendResult(message_id=message_id, to=to, subject=subject, mailbox_id=mailbox.id)
