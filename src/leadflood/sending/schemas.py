from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from leadflood.models import MessageStatus
from leadflood.schemas import Read


class AttemptRead(Read):
    attempt: int
    at: datetime
    code: str | None
    text: str | None
    classification: str


class MessageRead(Read):
    id: uuid.UUID
    status: MessageStatus
    direction: str
    channel: str
    to_address: str
    delivered_to: str | None
    from_address: str | None
    subject: str
    mailbox_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    step_id: uuid.UUID | None
    message_id: str | None
    provider: str | None
    provider_message_id: str | None
    send_after: datetime
    attempts: int
    sent_at: datetime | None
    delivered_at: datetime | None = None
    error: str | None
    created_at: datetime


class MessageDetail(MessageRead):
    headers: dict[str, Any]
    body_text: str
    body_html: str | None
    delivery_attempts: list[AttemptRead] = []
