"""What an inbound message relates to: one of our messages (by `In-Reply-To`/`References`, the
Message-ID returned inside a bounce or complaint, the provider's id of our message, or a
bounce's recipient), else a lead of the workspace by the sender's address (and our message to
them with the same normalised subject). Our own mail (a copy in Sent, a BCC, anything from one
of our mailbox addresses) is never taken for a reply."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import Enrollment, Lead, Mailbox, Message

# A bounce is matched to our latest message to its recipient sent within this long.
BOUNCE_LOOKBACK = timedelta(days=30)
_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|antw|antwort|r|rif|réf|ref|tr|fw|fwd|wg)\s*:\s*)+", re.I)


def normalized_subject(subject: str) -> str:
    return " ".join(_PREFIX.sub("", subject or "").split()).lower()


@dataclass(frozen=True)
class Facts:
    """What the threading reads from an inbound message."""

    sender: str
    subject: str
    message_id: str | None
    # Ours, possibly: In-Reply-To, References, and a report's returned Message-ID.
    referenced: tuple[str, ...]
    provider_message_id: str | None
    # A bounce's or complaint's failed recipient (ours was sent to it).
    recipient: str | None
    received_at: datetime


@dataclass(frozen=True)
class Target:
    """What the message relates to. `message` is ours (outbound) when found."""

    lead_id: uuid.UUID | None
    message: Message | None
    enrollment_id: uuid.UUID | None
    mailbox_id: uuid.UUID | None
    matched_by: str


def provider_id_prefixes(provider_id: str) -> list[str]:
    """The id and each of its dot-separated prefixes: SendGrid's events carry `sg_message_id`,
    the X-Message-Id it answered our send with, extended by `.filter…` parts (and older
    X-Message-Ids hold dots themselves), so our stored id is one of these."""
    parts = provider_id.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


async def own_addresses(session: AsyncSession, workspace_id: uuid.UUID) -> set[str]:
    rows = await session.execute(
        select(Mailbox.from_email, Mailbox.reply_to).where(Mailbox.workspace_id == workspace_id)
    )
    return {a.lower() for row in rows for a in row if a}


async def is_ours(
    session: AsyncSession, workspace_id: uuid.UUID, facts: Facts, *, own: set[str] | None = None
) -> bool:
    """A copy of a message we sent (Sent folder, BCC) or mail from our own addresses (`own`:
    the workspace's `own_addresses`, read once for a batch)."""
    if own is None:
        own = await own_addresses(session, workspace_id)
    if facts.sender.lower() in own:
        return True
    if not facts.message_id:
        return False
    found = await session.scalar(
        select(Message.id).where(
            Message.workspace_id == workspace_id,
            Message.message_id == facts.message_id,
            Message.direction == "outbound",
        )
    )
    return found is not None


async def find(session: AsyncSession, workspace_id: uuid.UUID, facts: Facts) -> Target | None:
    """The target of an inbound message, or None when it relates to nothing of ours."""
    ours = [m for m in facts.referenced if m]
    if ours or facts.provider_message_id:
        conditions: list[ColumnElement[bool]] = []
        if ours:
            conditions.append(Message.message_id.in_(ours))
        if facts.provider_message_id:
            ids = provider_id_prefixes(facts.provider_message_id)
            conditions.append(Message.provider_message_id.in_(ids))
        message = await _latest(session, workspace_id, or_(*conditions))
        if message is not None:
            return _of(message, "message_id")
    if facts.recipient:
        since = facts.received_at - BOUNCE_LOOKBACK
        message = await _latest(
            session,
            workspace_id,
            func.lower(Message.to_address) == facts.recipient.lower(),
            Message.created_at >= since,
        )
        if message is not None:
            return _of(message, "recipient")
    if not facts.sender:
        return None
    lead_id = await session.scalar(
        select(Lead.id)
        .where(Lead.workspace_id == workspace_id, func.lower(Lead.email) == facts.sender.lower())
        .limit(1)
    )
    if lead_id is None:
        return None
    subject = normalized_subject(facts.subject)
    candidates = (
        await session.scalars(
            select(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.lead_id == lead_id,
                Message.direction == "outbound",
            )
            .order_by(Message.created_at.desc())
            .limit(50)
        )
    ).all()
    for message in candidates:
        if subject and normalized_subject(message.subject) == subject:
            return _of(message, "sender_and_subject")
    latest = candidates[0] if candidates else None
    enrollment_id = latest.enrollment_id if latest else await _live_enrollment(session, lead_id)
    return Target(
        lead_id=lead_id,
        message=None,
        enrollment_id=enrollment_id,
        mailbox_id=latest.mailbox_id if latest else None,
        matched_by="sender",
    )


async def _latest(session: AsyncSession, workspace_id: uuid.UUID, *where: object) -> Message | None:
    query = (
        select(Message)
        .where(Message.workspace_id == workspace_id, Message.direction == "outbound", *where)  # type: ignore[arg-type]
        .order_by(Message.created_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def _live_enrollment(session: AsyncSession, lead_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(Enrollment.id)
        .where(Enrollment.lead_id == lead_id)
        .order_by(Enrollment.created_at.desc())
        .limit(1)
    )


def _of(message: Message, matched_by: str) -> Target:
    return Target(
        lead_id=message.lead_id,
        message=message,
        enrollment_id=message.enrollment_id,
        mailbox_id=message.mailbox_id,
        matched_by=matched_by,
    )
