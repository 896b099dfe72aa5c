"""Messages left `sending` by a worker that died (invariant 5), reconciled instead of re-sent.

The rule, by what we can know:
- the attempt never started (`sending_started_at` NULL): nothing left the building, so the
  message is queued again;
- the provider deduplicates by idempotency key (Resend): queued again, the retry carries the
  same key and cannot deliver twice;
- the server can be asked by Message-ID (a `Reconciler`; the demo and test catchers keep what
  they receive in a directory): sent if it is there, queued again if not;
- otherwise (a real SMTP server, Postmark, SendGrid): marked sent with classification
  `reconciled_unknown` and an "unconfirmed" note. We prefer at most one copy over a duplicate,
  and the attempt row says plainly that delivery was not confirmed. With back-to-back sends the
  next run of `runs.GROUP` is marked started while the current one is on the wire, so a
  crash can leave up to 2 x GROUP unconfirmed; with a minimum gap between sends (the normal
  case) it is one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.logging import get_logger
from leadflood.models import DeliveryAttempt, Mailbox, Message, MessageStatus
from leadflood.sending.channels import channel_of
from leadflood.settings import Settings

log = get_logger("leadflood.sending")
BATCH = 200


async def reconcile_stale(
    session: AsyncSession, settings: Settings, now: datetime, *, limit: int = BATCH
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
    counts: dict[str, int] = {}
    mailboxes: dict[uuid.UUID, Mailbox | None] = {}
    for message in rows:
        if message.mailbox_id is not None and message.mailbox_id not in mailboxes:
            mailboxes[message.mailbox_id] = await session.get(Mailbox, message.mailbox_id)
        mailbox = mailboxes.get(message.mailbox_id) if message.mailbox_id else None
        decision = await _decide(message, mailbox)
        _apply(session, message, decision, now)
        counts[decision] = counts.get(decision, 0) + 1
        log.warning("sending.reconciled", message=str(message.id), decision=decision)
    await session.flush()
    return counts


async def _decide(message: Message, mailbox: Mailbox | None) -> str:
    if message.sending_started_at is None:
        return "not_started"
    return await channel_of(message.channel).reconcile(message, mailbox)


_TEXTS = {
    "idempotent_retry": "worker stopped during the attempt; retried with the same idempotency key",
    "found": "worker stopped during the attempt; the server has this Message-ID",
    "absent": "worker stopped during the attempt; the server does not have it; queued again",
    "unknown": (
        "unconfirmed: the worker stopped during the attempt and the server cannot be asked; "
        "recorded as sent rather than risk a duplicate"
    ),
}
_CLASSIFICATION = {
    "idempotent_retry": "reconciled_retry",
    "found": "reconciled_sent",
    "absent": "reconciled_absent",
    "unknown": "reconciled_unknown",
}


def _apply(session: AsyncSession, message: Message, decision: str, now: datetime) -> None:
    if decision == "not_started":
        message.status = MessageStatus.queued
        message.attempts = max(0, message.attempts - 1)
        message.send_after = now
        return
    session.add(
        DeliveryAttempt(
            id=uuid.uuid4(),
            workspace_id=message.workspace_id,
            message_id=message.id,
            attempt=message.attempts,
            at=now,
            code=None,
            text=_TEXTS[decision],
            classification=_CLASSIFICATION[decision],
        )
    )
    if decision in ("found", "unknown"):
        message.status = MessageStatus.sent
        message.sent_at = message.sending_started_at
        message.error = _TEXTS[decision] if decision == "unknown" else None
    else:
        message.status = MessageStatus.queued
        message.send_after = now
        message.sending_started_at = None
