"""Plain async factories for the sending tests: a workspace, leads, a mailbox pointing at a
test SMTP server, a sequence with enrollments, and queued messages as the scheduler makes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.mailboxes import secrets as mailbox_secrets
from leadflood.models import (
    Enrollment,
    Lead,
    Mailbox,
    Message,
    Sequence,
    SequenceState,
    SequenceStep,
    Workspace,
)
from leadflood.sending.channels.email import new_message_id
from leadflood.settings import Settings
from leadflood.suppressions import unsubscribe

POSTAL = "Acme Ltd, 1 Harbour Street, Bristol BS1 4AA, UK"


async def make_workspace(session: AsyncSession, name: str = "Acme") -> Workspace:
    workspace = Workspace(name=name, slug=f"{name.lower()}-{uuid.uuid4().hex[:6]}")
    session.add(workspace)
    await session.flush()
    return workspace


async def make_lead(session: AsyncSession, workspace_id: uuid.UUID, **fields: Any) -> Lead:
    lead = Lead(
        workspace_id=workspace_id, **({"email": f"{uuid.uuid4().hex[:8]}@example.com"} | fields)
    )
    session.add(lead)
    await session.flush()
    return lead


async def make_mailbox(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    *,
    config: dict[str, Any] | None = None,
    provider: str = "smtp",
    secret: str | None = None,
    **fields: Any,
) -> Mailbox:
    values: dict[str, Any] = {
        "name": "Sales",
        "provider": provider,
        "from_name": "Sam Sender",
        "from_email": "sam@sender.example",
        "config": config or {},
        "daily_cap": 10_000,
        "min_gap_seconds": 0,
        "jitter_seconds": 0,
        "timezone": "UTC",
    }
    mailbox = Mailbox(workspace_id=workspace_id, **(values | fields))
    await mailbox_secrets.store(session, mailbox, secret=secret, dkim_key=None)
    session.add(mailbox)
    await session.flush()
    return mailbox


# Open around the clock (but for the last second of each day): delivery checks the window.
ALWAYS_OPEN = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59:59"}


async def make_sequence(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    steps: int = 1,
    window: dict[str, Any] | None = None,
    timezone: str = "UTC",
) -> tuple[Sequence, list[SequenceStep]]:
    sequence = Sequence(
        workspace_id=workspace_id,
        name="Outreach",
        state=SequenceState.active,
        postal_address=POSTAL,
        window=ALWAYS_OPEN if window is None else window,
        timezone=timezone,
    )
    session.add(sequence)
    await session.flush()
    made = []
    for position in range(1, steps + 1):
        step = SequenceStep(workspace_id=workspace_id, sequence_id=sequence.id, position=position)
        session.add(step)
        made.append(step)
    await session.flush()
    return sequence, made


async def make_enrollment(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_id: uuid.UUID, lead_id: uuid.UUID
) -> Enrollment:
    enrollment = Enrollment(workspace_id=workspace_id, sequence_id=sequence_id, lead_id=lead_id)
    session.add(enrollment)
    await session.flush()
    return enrollment


async def queue_message(
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    lead: Lead,
    *,
    enrollment: Enrollment | None = None,
    step: SequenceStep | None = None,
    with_unsubscribe: bool = True,
    send_after: datetime | None = None,
    subject: str = "Quick question",
) -> Message:
    """A queued message as the scheduler makes it (headers and footer included unless
    `with_unsubscribe` is False, in which case delivery must add them)."""
    assert lead.email is not None
    headers: dict[str, str] = {}
    body = f"Hi {lead.first_name or 'there'},\n\nWould a short call make sense?"
    if with_unsubscribe:
        token = await unsubscribe.issue_token(session, lead.workspace_id, lead.id, lead.email)
        headers = unsubscribe.headers(settings, token, mailto=mailbox.from_email)
        body += unsubscribe.footer(settings, token, POSTAL)[0]
    message = Message(
        workspace_id=lead.workspace_id,
        enrollment_id=enrollment.id if enrollment else None,
        step_id=step.id if step else None,
        lead_id=lead.id,
        mailbox_id=mailbox.id,
        to_address=lead.email,
        from_address=mailbox.from_email,
        subject=subject,
        body_text=body,
        headers=headers,
        message_id=new_message_id("sender.example"),
        send_after=send_after or datetime.now(UTC),
    )
    session.add(message)
    await session.flush()
    return message
