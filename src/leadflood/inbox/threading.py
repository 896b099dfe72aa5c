"""What an inbound message relates to: one of our messages (by `In-Reply-To`/`References`, the
Message-ID returned inside a bounce or complaint, the provider's id of our message, or a
bounce's recipient), else a lead of the workspace by the sender's address (and our message to
them with the same normalised subject). Our own mail (a copy in Sent, a BCC, anything from one
of our mailbox addresses) is never taken for a reply."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
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
    return (await ours_many(session, workspace_id, [facts], own=own))[0]


async def ours_many(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    facts: Sequence[Facts],
    *,
    own: set[str] | None = None,
) -> list[bool]:
    """`is_ours` for a batch, in one statement at most."""
    if own is None:
        own = await own_addresses(session, workspace_id)
    ids = {f.message_id for f in facts if f.message_id and f.sender.lower() not in own}
    sent: set[str | None] = set()
    if ids:
        sent = set(
            (
                await session.scalars(
                    select(Message.message_id).where(
                        Message.workspace_id == workspace_id,
                        Message.message_id.in_(ids),
                        Message.direction == "outbound",
                    )
                )
            ).all()
        )
    return [f.sender.lower() in own or (f.message_id or "") in sent for f in facts]


async def find(session: AsyncSession, workspace_id: uuid.UUID, facts: Facts) -> Target | None:
    """The target of an inbound message, or None when it relates to nothing of ours."""
    return (await find_many(session, workspace_id, [facts]))[0]


async def find_many(
    session: AsyncSession, workspace_id: uuid.UUID, facts: Sequence[Facts]
) -> list[Target | None]:
    """`find` for a batch: each way of matching is one statement for the whole batch, tried
    in order on the messages the previous ones left unmatched."""
    found: list[Target | None] = [None] * len(facts)
    await _by_reference(session, workspace_id, facts, found)
    await _by_recipient(session, workspace_id, facts, found)
    await _by_sender(session, workspace_id, facts, found)
    return found


async def _by_reference(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    facts: Sequence[Facts],
    found: list[Target | None],
) -> None:
    """Our message by the ids an inbound one refers to (the latest when several match)."""
    refs = {r for f in facts for r in f.referenced if r}
    prefixes = {
        p
        for f in facts
        if f.provider_message_id
        for p in provider_id_prefixes(f.provider_message_id)
    }
    if not refs and not prefixes:
        return
    conditions: list[ColumnElement[bool]] = []
    if refs:
        conditions.append(Message.message_id.in_(refs))
    if prefixes:
        conditions.append(Message.provider_message_id.in_(prefixes))
    messages = await _outbound(session, workspace_id, or_(*conditions))
    for i, f in enumerate(facts):
        ours = {r for r in f.referenced if r}
        ids = set(provider_id_prefixes(f.provider_message_id)) if f.provider_message_id else set()
        for message in messages:  # the latest first
            if message.message_id in ours or message.provider_message_id in ids:
                found[i] = _of(message, "message_id")
                break


async def _by_recipient(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    facts: Sequence[Facts],
    found: list[Target | None],
) -> None:
    """A bounce's or complaint's recipient: our latest message to it within BOUNCE_LOOKBACK."""
    todo = [i for i, f in enumerate(facts) if found[i] is None and f.recipient]
    if not todo:
        return
    recipients = {(facts[i].recipient or "").lower() for i in todo}
    since = min(facts[i].received_at for i in todo) - BOUNCE_LOOKBACK
    messages = await _outbound(
        session,
        workspace_id,
        func.lower(Message.to_address).in_(recipients),
        Message.created_at >= since,
    )
    for i in todo:
        f = facts[i]
        for message in messages:
            if (message.to_address or "").lower() == (f.recipient or "").lower() and (
                message.created_at >= f.received_at - BOUNCE_LOOKBACK
            ):
                found[i] = _of(message, "recipient")
                break


async def _by_sender(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    facts: Sequence[Facts],
    found: list[Target | None],
) -> None:
    """A lead of the workspace by the sender's address, then our message to them with the same
    normalised subject, else their latest message's (or enrollment's) context."""
    todo = [i for i, f in enumerate(facts) if found[i] is None and f.sender]
    if not todo:
        return
    senders = {facts[i].sender.lower() for i in todo}
    leads: dict[str, uuid.UUID] = {}
    for lead_id, email in await session.execute(
        select(Lead.id, func.lower(Lead.email)).where(
            Lead.workspace_id == workspace_id, func.lower(Lead.email).in_(senders)
        )
    ):
        leads.setdefault(email, lead_id)
    if not leads:
        return
    ranked = (
        select(
            Message.id,
            func.row_number()
            .over(partition_by=Message.lead_id, order_by=Message.created_at.desc())
            .label("rank"),
        )
        .where(
            Message.workspace_id == workspace_id,
            Message.lead_id.in_(set(leads.values())),
            Message.direction == "outbound",
        )
        .subquery()
    )
    candidates: dict[uuid.UUID, list[Message]] = {}
    for message in await _outbound(
        session, workspace_id, Message.id.in_(select(ranked.c.id).where(ranked.c.rank <= 50))
    ):
        candidates.setdefault(message.lead_id, []).append(message)  # type: ignore[arg-type]
    without = {lead for lead in leads.values() if lead not in candidates}
    enrollments = await _live_enrollments(session, without)
    for i in todo:
        lead_id = leads.get(facts[i].sender.lower())
        if lead_id is None:
            continue
        subject = normalized_subject(facts[i].subject)
        mine = candidates.get(lead_id, [])
        match = next(
            (m for m in mine if subject and normalized_subject(m.subject) == subject), None
        )
        if match is not None:
            found[i] = _of(match, "sender_and_subject")
            continue
        latest = mine[0] if mine else None
        found[i] = Target(
            lead_id=lead_id,
            message=None,
            enrollment_id=latest.enrollment_id if latest else enrollments.get(lead_id),
            mailbox_id=latest.mailbox_id if latest else None,
            matched_by="sender",
        )


async def _outbound(
    session: AsyncSession, workspace_id: uuid.UUID, *where: object
) -> list[Message]:
    """Our messages matching `where`, the latest first."""
    query = (
        select(Message)
        .where(Message.workspace_id == workspace_id, Message.direction == "outbound", *where)  # type: ignore[arg-type]
        .order_by(Message.created_at.desc())
    )
    return list((await session.scalars(query)).all())


async def _live_enrollments(
    session: AsyncSession, lead_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Each lead's latest enrollment."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        select(Enrollment.lead_id, Enrollment.id)
        .where(Enrollment.lead_id.in_(lead_ids))
        .ext(distinct_on(Enrollment.lead_id))
        .order_by(Enrollment.lead_id, Enrollment.created_at.desc())
    )
    return {lead_id: enrollment_id for lead_id, enrollment_id in rows}


def _of(message: Message, matched_by: str) -> Target:
    return Target(
        lead_id=message.lead_id,
        message=message,
        enrollment_id=message.enrollment_id,
        mailbox_id=message.mailbox_id,
        matched_by=matched_by,
    )
