"""One claimed message as the claim reads it (columns, not an ORM object), and what turns it
into the email that leaves: its unsubscribe headers and footer when it was queued without them,
the TEST_MODE redirection, the threading headers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import Enrollment, EnrollmentState, Lead, Mailbox, Message, Sequence
from leadflood.providers.base import OutboundEmail
from leadflood.settings import Settings
from leadflood.suppressions import unsubscribe


@dataclass
class DueMessage:
    """A due message's columns, as read by the claim (its own copy: the footer may be added)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    to_address: str
    from_address: str | None
    subject: str
    body_text: str
    body_html: str | None
    # JSON text, decoded when the email is built (delivery builds a batch claimed ahead one
    # message per loop turn): a claim decodes none of it.
    headers: str | None
    has_unsubscribe: bool
    message_id: str
    in_reply_to: str | None
    attempts: int
    # From the enrollment and its sequence: None without one.
    enrollment_state: EnrollmentState | None
    stop_reason: str | None
    sequence_id: uuid.UUID | None
    window: str | None  # JSON text
    sequence_zone: str | None
    postal_address: str | None
    lead_zone: str | None


DUE_COLUMNS = (
    Message.id,
    Message.workspace_id,
    Message.enrollment_id,
    Message.lead_id,
    Message.to_address,
    Message.from_address,
    Message.subject,
    Message.body_text,
    Message.body_html,
    cast(Message.headers, Text),
    Message.headers.has_key("List-Unsubscribe"),
    Message.message_id,
    Message.in_reply_to,
    Message.attempts,
    Enrollment.state,
    Enrollment.stop_reason,
    Sequence.id,
    cast(Sequence.window, Text),
    Sequence.timezone,
    Sequence.postal_address,
    Lead.timezone,
)


def test_subject(to_address: str, subject: str) -> str:
    return f"[TEST → {to_address}] {subject}"


async def ensure_unsubscribe(
    session: AsyncSession,
    settings: Settings,
    mailbox: Mailbox,
    message: DueMessage,
) -> None:
    """A message queued without its unsubscribe headers (a test send, an older producer) gets
    them here, with the footer, so no email ever leaves without them."""
    if message.has_unsubscribe:
        return
    token = await unsubscribe.issue_token(
        session, message.workspace_id, message.lead_id, message.to_address
    )
    address = message.postal_address or str((mailbox.config or {}).get("postal_address") or "")
    text, html = unsubscribe.footer(settings, token, address)
    headers = {
        **(json.loads(message.headers) if message.headers else {}),
        **unsubscribe.headers(settings, token, mailto=mailbox.reply_to or mailbox.from_email),
    }
    message.headers, message.has_unsubscribe = json.dumps(headers), True
    message.body_text = (message.body_text or "") + text
    if message.body_html is not None:
        message.body_html += html
    await session.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(headers=headers, body_text=message.body_text, body_html=message.body_html)
    )


def build_email(settings: Settings, mailbox: Mailbox, message: DueMessage) -> OutboundEmail:
    headers: dict[str, Any] = json.loads(message.headers) if message.headers else {}
    if message.in_reply_to:
        headers.setdefault("In-Reply-To", message.in_reply_to)
        headers.setdefault("References", message.in_reply_to)
    to = [message.to_address]
    subject = message.subject
    if settings.test_mode:
        to = list(settings.test_recipients)
        subject = test_subject(message.to_address, subject)
    return OutboundEmail(
        message_id=message.message_id,
        from_email=message.from_address or mailbox.from_email,
        from_name=mailbox.from_name,
        to=to,
        subject=subject,
        text=message.body_text,
        html=message.body_html,
        reply_to=mailbox.reply_to,
        headers=headers,
        idempotency_key=message.message_id.strip("<>"),
        metadata={"message": str(message.id)},
    )
