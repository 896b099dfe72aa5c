"""Messages left `sending` by a worker that died (invariant 5), reconciled instead of re-sent.

The rule, by what we can know:
- the attempt never started (`sending_started_at` NULL): nothing left the building, so the
  message is queued again;
- the provider deduplicates by idempotency key (Resend): queued again, the retry carries the
  same key and cannot deliver twice;
- the server can be asked by Message-ID (a `Reconciler`; the demo and test catchers keep what
  they receive in a directory): sent if it is there, queued again if not;
- the provider can be asked by the metadata the message carries (Postmark's message search):
  sent if it has it, queued again once it has not had it for a while, asked again later while
  it does not answer (`pending`: left `sending`), `unconfirmed` if it never does;
- otherwise (a real SMTP server, SendGrid): `unconfirmed`, with classification
  `reconciled_unknown`: maybe delivered, so never sent again automatically (at most one copy
  rather than a duplicate), and never counted as sent; a person can queue it again. Each
  message is marked started just before its own attempt, with its connection's previous
  success recorded in the same commit (marks.py), so a crash leaves at most one in doubt per
  connection (SENDING_CONNECTIONS for a back-to-back mailbox, else one).

Two ways in: a delivery job starting on a mailbox settles at once whatever the mailbox's
previous job left `sending` (`settle_orphans`; one job sends for a mailbox at a time, so those
are orphans), and a periodic sweep catches the rest after SENDING_RECONCILE_SECONDS
(`reconcile_stale`: mailboxes with no new delivery job, a paused one).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events
from leadflood.logging import get_logger
from leadflood.models import DeliveryAttempt, Mailbox, Message, MessageStatus
from leadflood.sending.channels import Transports, channel_of
from leadflood.settings import Settings

log = get_logger("leadflood.sending")
BATCH = 200


async def reconcile_stale(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    limit: int = BATCH,
    transports: Transports | None = None,
) -> dict[str, int]:
    """Reconcile up to `limit` stale `sending` messages; returns counts by decision."""
    cutoff = now - timedelta(seconds=settings.sending_reconcile_seconds)
    rows = list(
        await session.scalars(
            select(Message)
            .where(
                Message.status == MessageStatus.sending,
                # Claimed at `updated_at`, started (when it was) at `sending_started_at`. Only
                # messages in flight are in the partial index this reads.
                func.coalesce(Message.sending_started_at, Message.updated_at) < cutoff,
            )
            .order_by(Message.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return await _settle(session, rows, now, transports)


async def settle_orphans(
    session: AsyncSession,
    mailbox_id: uuid.UUID,
    now: datetime,
    *,
    transports: Transports | None = None,
    older_than: datetime | None = None,
) -> dict[str, int]:
    """Settle every message of this mailbox left `sending` (claimed or started before
    `older_than`, when given): the caller has made sure no other delivery of the mailbox is
    running, so these belong to a job that died."""
    query = (
        select(Message)
        .where(Message.mailbox_id == mailbox_id, Message.status == MessageStatus.sending)
        .order_by(Message.updated_at)
        .with_for_update(skip_locked=True)
    )
    if older_than is not None:
        query = query.where(
            func.coalesce(Message.sending_started_at, Message.updated_at) < older_than
        )
    rows = list(await session.scalars(query))
    return await _settle(session, rows, now, transports)


async def _settle(
    session: AsyncSession, rows: list[Message], now: datetime, transports: Transports | None
) -> dict[str, int]:
    counts: dict[str, int] = {}
    mailboxes: dict[uuid.UUID, Mailbox | None] = {}
    for message in rows:
        if message.mailbox_id is not None and message.mailbox_id not in mailboxes:
            mailboxes[message.mailbox_id] = await session.get(Mailbox, message.mailbox_id)
        mailbox = mailboxes.get(message.mailbox_id) if message.mailbox_id else None
        decision = await _decide(session, message, mailbox, transports, now)
        await _apply(session, message, decision, now)
        counts[decision] = counts.get(decision, 0) + 1
        (log.info if decision == "pending" else log.warning)(
            "sending.reconciled", message=str(message.id), decision=decision
        )
    await session.flush()
    return counts


async def _decide(
    session: AsyncSession,
    message: Message,
    mailbox: Mailbox | None,
    transports: Transports | None,
    now: datetime,
) -> str:
    if message.sending_started_at is None:
        return "not_started"
    channel = channel_of(message.channel)
    return await channel.reconcile(session, message, mailbox, transports, now)


_TEXTS = {
    "idempotent_retry": "worker stopped during the attempt; retried with the same idempotency key",
    "found": "worker stopped during the attempt; the server has this message",
    "absent": "worker stopped during the attempt; the server does not have it; queued again",
    "unknown": (
        "unconfirmed: the attempt began but its outcome is unknown (the worker stopped during "
        "it) and the server cannot be asked; not sent again automatically. A delivery report "
        "or a reply that refers to it settles it as sent; queue it again by hand if it did not "
        "arrive"
    ),
    "unanswered": (
        "unconfirmed: the attempt began but its outcome is unknown (the worker stopped during "
        "it) and the provider did not answer when asked for an hour; not sent again "
        "automatically: queue it again by hand if it did not arrive"
    ),
}
_CLASSIFICATION = {
    "idempotent_retry": "reconciled_retry",
    "found": "reconciled_sent",
    "absent": "reconciled_absent",
    "unknown": "reconciled_unknown",
    "unanswered": "reconciled_unknown",
}


async def _apply(session: AsyncSession, message: Message, decision: str, now: datetime) -> None:
    if decision == "pending":  # asked again at the next sweep or delivery
        return
    if decision == "not_started":
        message.status = MessageStatus.queued
        message.attempts = max(0, message.attempts - 1)
        message.send_after = now
        return
    _attempt(session, message, now, _TEXTS[decision], _CLASSIFICATION[decision])
    if decision == "found":
        message.status = MessageStatus.sent
        message.sent_at = message.sending_started_at
        message.error = None
        await _emit_sent(session, message)
    elif decision in ("unknown", "unanswered"):
        message.status = MessageStatus.unconfirmed
        message.error = _TEXTS[decision]
    else:
        message.status = MessageStatus.queued
        message.send_after = now
        message.sending_started_at = None


async def confirm_sent(
    session: AsyncSession,
    message: Message,
    *,
    at: datetime,
    evidence: str,
    provider_message_id: str | None = None,
) -> bool:
    """An `unconfirmed` message since shown to have left (its provider reported delivering it,
    or a reply or a bounce refers to it) is `sent`, for certain, with what showed it recorded
    as an attempt. False, and nothing changes, when it is not `unconfirmed` (a person queued it
    again meanwhile, say)."""
    if message.status != MessageStatus.unconfirmed:  # as loaded: the update below decides
        return False
    settled = await session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status == MessageStatus.unconfirmed)
        .values(
            status=MessageStatus.sent,
            sent_at=func.coalesce(Message.sending_started_at, at),
            error=None,
            provider_message_id=func.coalesce(Message.provider_message_id, provider_message_id),
        )
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    if settled.first() is None:
        return False
    await session.refresh(message)
    _attempt(session, message, at, f"sent, confirmed afterwards: {evidence}", "confirmed_sent")
    await _emit_sent(session, message)
    log.warning("sending.unconfirmed_settled", message=str(message.id), evidence=evidence)
    return True


def _attempt(
    session: AsyncSession, message: Message, at: datetime, text: str, classification: str
) -> None:
    attempt = DeliveryAttempt(
        id=uuid.uuid4(), workspace_id=message.workspace_id, message_id=message.id,
        attempt=message.attempts, at=at, code=None, text=text, classification=classification,
    )  # fmt: skip
    session.add(attempt)


async def _emit_sent(session: AsyncSession, message: Message) -> None:
    await events.emit(
        session, message.workspace_id, events.MESSAGE_SENT,
        {"message_id": message.id, "enrollment_id": message.enrollment_id,
         "lead_id": message.lead_id, "channel": message.channel, "to": message.to_address,
         "provider_message_id": message.provider_message_id, "sent_at": message.sent_at},
    )  # fmt: skip
