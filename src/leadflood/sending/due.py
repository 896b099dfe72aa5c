"""One claimed message as the claim reads it (columns, not an ORM object); its channel turns it
into what leaves (`channels/`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Text, cast

from leadflood.models import Enrollment, EnrollmentState, Lead, Message, Sequence


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
    message_id: str | None  # email only
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
