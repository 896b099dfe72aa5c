"""Recording what happened to send attempts: the attempt rows, the messages' new status, and
what follows (suppression, enrollment stop, mailbox health). Each failure is recorded on its own;
a success with the next start mark of its connection (marks.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import LiteralString

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events
from leadflood.models import (
    DeliveryAttempt,
    Enrollment,
    EnrollmentState,
    Mailbox,
    MailboxState,
    Message,
    MessageStatus,
    SuppressionKind,
)
from leadflood.providers.base import ProviderError, RecipientRejected, SendResult
from leadflood.sending.claim import PAUSED_RECHECK, Claimed
from leadflood.sending.pipeline import Sql
from leadflood.settings import Settings
from leadflood.suppressions import service as suppression
from leadflood.suppressions import stops

# Errors that say the mailbox itself is unusable (credentials, TLS, configuration): the
# message is not at fault, so it waits in the queue while the mailbox goes to `error`.
MAILBOX_ERROR_CODES = frozenset(
    {
        "auth_failed",
        "tls_failed",
        "unsupported",
        "provider_not_configured",
        "401",
        "403",
        "10",  # Postmark: bad or missing server token
        "missing_api_key",
        "invalid_api_key",
        "restricted_api_key",
    }
)
# Connection-level temporary errors: the rest of the batch would fail the same way.
CONNECTION_CODES = frozenset({"unreachable", "timeout", "disconnected", "network"})
UNCONFIRMED = "unconfirmed"


def backoff(settings: Settings, attempt: int, retry_after: float | None = None) -> timedelta:
    seconds = settings.sending_retry_base_seconds * 2 ** max(0, attempt - 1)
    seconds = min(seconds, settings.sending_retry_max_seconds)
    if retry_after is not None:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def _attempt(
    claimed: Claimed, at: datetime, code: str | None, text: str | None, kind: str
) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=uuid.uuid4(),
        workspace_id=claimed.workspace_id,
        message_id=claimed.id,
        attempt=claimed.attempt,
        at=at,
        code=(code or None) and code[:20],
        text=text,
        classification=kind,
    )


@dataclass(frozen=True)
class Sent:
    claimed: Claimed
    result: SendResult
    at: datetime


_MAILBOX_SENT: LiteralString = """
    UPDATE mailboxes SET last_sent_at = %(at)s, updated_at = now() WHERE id = %(id)s
"""


_ENROLLMENT_SENT: LiteralString = """
    UPDATE enrollments SET last_sent_at = GREATEST(last_sent_at, %(at)s), updated_at = now()
    WHERE id = %(id)s
"""


def enrollment_sent(enrollment_id: uuid.UUID, at: datetime) -> Sql:
    return Sql(_ENROLLMENT_SENT, {"id": enrollment_id, "at": at})


def mailbox_sent(mailbox_id: uuid.UUID, at: datetime) -> Sql:
    return Sql(_MAILBOX_SENT, {"id": mailbox_id, "at": at})


async def lock_mailbox(session: AsyncSession, mailbox_id: uuid.UUID) -> None:
    """Take the mailbox row first, as claims do, before rows a claim may also write
    (enrollments): the two then never deadlock. NO KEY UPDATE: a scheduler inserting messages
    that reference the mailbox (KEY SHARE) does not wait for it."""
    await session.execute(
        select(Mailbox.id).where(Mailbox.id == mailbox_id).with_for_update(key_share=True)
    )


def classify(settings: Settings, error: ProviderError) -> str:
    """What a failed attempt means: temporary, unconfirmed, mailbox_error, recipient_rejected
    or permanent (a pure function: the send loop decides at once, the record may follow)."""
    if error.temporary:
        return UNCONFIRMED if error.code == UNCONFIRMED else "temporary"
    if error.code in MAILBOX_ERROR_CODES:
        return "mailbox_error"
    if isinstance(error, RecipientRejected) and not settings.test_mode:
        return "recipient_rejected"
    # In TEST_MODE a rejected recipient is the test address, not the lead: no suppression.
    return "permanent"


async def record_failure(
    session: AsyncSession,
    settings: Settings,
    claimed: Claimed,
    error: ProviderError,
    at: datetime,
    mailbox_id: uuid.UUID,
) -> str:
    """Record a failed attempt and what follows from it; returns `classify(settings, error)`."""
    text = str(error)
    code = error.code
    kind = classify(settings, error)
    if kind == UNCONFIRMED:
        # The server may have queued it: leave it `sending` for the reconciler.
        session.add(_attempt(claimed, at, code, text, UNCONFIRMED))
        await _mailbox_error(session, mailbox_id, text, state=None)
    elif kind == "temporary":
        session.add(_attempt(claimed, at, code, text, "temporary"))
        await _requeue(
            session, claimed.id, at + backoff(settings, claimed.attempt, error.retry_after), text
        )
        await _mailbox_error(session, mailbox_id, text, state=None)
        if code in CONNECTION_CODES:
            # The server is unreachable: the whole mailbox waits, not just this message.
            await session.execute(
                update(Mailbox)
                .where(Mailbox.id == mailbox_id)
                .values(next_send_at=at + backoff(settings, 1))
            )
    elif kind == "mailbox_error":
        session.add(_attempt(claimed, at, code, text, "mailbox_error"))
        await _requeue(session, claimed.id, at, text, count_attempt=False)
        await _mailbox_error(session, mailbox_id, text, state=MailboxState.error)
    elif kind == "recipient_rejected":
        session.add(_attempt(claimed, at, code, text, "recipient_rejected"))
        await _finish(session, claimed.id, MessageStatus.bounced, text)
        await events.emit(
            session, claimed.workspace_id, events.MESSAGE_BOUNCED,
            {"message_id": claimed.id, "enrollment_id": claimed.enrollment_id,
             "recipient": claimed.to_address, "bounce_type": "hard", "status": code, "at": at},
        )  # fmt: skip
        await suppression.add(
            session,
            claimed.workspace_id,
            SuppressionKind.email,
            claimed.to_address,
            "bounced",
            error.provider,
        )
        await stops.stop_person(
            session, claimed.workspace_id, reason="bounced", emails=[claimed.to_address], now=at
        )
        await stops.stop_enrollment(session, claimed.enrollment_id, "bounced", at)
    else:
        session.add(_attempt(claimed, at, code, text, "permanent"))
        await _finish(session, claimed.id, MessageStatus.failed, text)
        await stops.stop_enrollment(session, claimed.enrollment_id, "failed", at)
        await _mailbox_error(session, mailbox_id, text, state=None)
    return kind


async def _requeue(
    session: AsyncSession,
    message_id: uuid.UUID,
    send_after: datetime,
    error: str,
    *,
    count_attempt: bool = True,
) -> None:
    values: dict[str, object] = {
        "status": MessageStatus.queued,
        "send_after": send_after,
        "sending_started_at": None,
        "error": error,
    }
    if not count_attempt:
        values["attempts"] = Message.attempts - 1
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.sending)
        .values(**values)
    )


async def release(
    session: AsyncSession, message_ids: list[uuid.UUID], send_after: datetime
) -> None:
    """Put claimed messages that were never attempted back in the queue, as they were."""
    if not message_ids:
        return
    await session.execute(
        update(Message)
        .where(
            Message.id.in_(message_ids),
            Message.status == MessageStatus.sending,
            Message.sending_started_at.is_(None),
        )
        .values(
            status=MessageStatus.queued,
            send_after=send_after,
            attempts=Message.attempts - 1,
        )
    )


async def _finish(
    session: AsyncSession, message_id: uuid.UUID, status: MessageStatus, error: str
) -> None:
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.sending)
        .values(status=status, error=error)
    )


async def _mailbox_error(
    session: AsyncSession, mailbox_id: uuid.UUID, text: str, *, state: MailboxState | None
) -> None:
    values: dict[str, object] = {
        "last_error": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {text}"[:2000]
    }
    if state is not None:
        values["state"] = state
    await session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(**values))


async def mailbox_failed(session: AsyncSession, mailbox_id: uuid.UUID, text: str) -> None:
    await _mailbox_error(session, mailbox_id, text, state=MailboxState.error)


async def withdraw(session: AsyncSession, message_id: uuid.UUID, at: datetime) -> None:
    """A claimed message whose enrollment stopped or paused after the claim, found before its
    attempt: cancelled with the enrollment's reason, or (paused) back in the queue."""
    row = (
        await session.execute(
            select(Enrollment.state, Enrollment.stop_reason)
            .join(Message, Message.enrollment_id == Enrollment.id)
            .where(Message.id == message_id)
        )
    ).first()
    if row is not None and row.state == EnrollmentState.paused:
        await release(session, [message_id], at + PAUSED_RECHECK)
        return
    reason = f"enrollment {row.state.value}: {row.stop_reason or 'no reason'}" if row else None
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.sending)
        .values(status=MessageStatus.cancelled, error=f"cancelled: {reason or 'withdrawn'}")
    )
