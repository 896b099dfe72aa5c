"""Claiming a batch of a mailbox's due messages, in one transaction that re-checks everything a
send depends on: the enrollment is still active (invariant 2), the recipient is not suppressed
(1), the mailbox is active, under its daily cap and past its minimum gap, the lead's window is
open in its zone (4: a retry, a cap or a backlog may have moved the message out of the window
it was queued in), and the message carries its unsubscribe headers and footer (8).

Rows are read and written as columns with set-based statements (no ORM objects per message;
the claim's query also brings each message's enrollment, window and zones): a claim of a few
hundred messages costs a handful of round trips."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    column,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.mailboxes import capacity
from leadflood.mailboxes.windows import (
    SendingWindow,
    is_open,
    mailbox_window_state,
    next_open,
    resolve_zone,
    window_or_default,
)
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    Mailbox,
    MailboxState,
    Message,
    MessageStatus,
    Sequence,
)
from leadflood.sending.channels import Channel, channel_of
from leadflood.sending.due import DUE_COLUMNS, DueMessage
from leadflood.settings import Settings
from leadflood.suppressions import service as suppression
from leadflood.suppressions import stops

# The scheduler completes an enrollment when it queues the last step: that message still goes.
# A stop (reply, bounce, unsubscribe, manual) moves it to `stopped` or cancels the message.
SENDABLE = (EnrollmentState.active, EnrollmentState.completed)
# A paused enrollment keeps its queued message; it is looked at again after this long.
PAUSED_RECHECK = timedelta(minutes=10)


def ids_in(column: Any, ids: list[uuid.UUID]) -> Any:
    """`column = ANY(:ids)` with one array parameter: no per-id placeholder to render."""
    return column == any_(bindparam(None, ids, type_=ARRAY(Uuid())))


_MESSAGES = cast(Table, Message.__table__)
# A reply a person wrote in an inbox thread (`inbox.service.reply`): no enrollment, so no lead
# window applies, and it leaves outside the mailbox's own window too; the cap and the gap hold.
PERSONAL_REPLY = and_(Message.thread_id.is_not(None), Message.enrollment_id.is_(None))


@dataclass
class Claimed:
    id: uuid.UUID
    workspace_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    to_address: str
    attempt: int
    planned_at: datetime
    # What leaves (for email an `OutboundEmail`), built by the message's channel on first use:
    # the delivery engine builds a batch claimed ahead one message at a time while the current
    # batch is on the wire (see delivery._prepare).
    build: Callable[[], Any] = field(repr=False)
    _outbound: Any = field(default=None, repr=False)

    @property
    def outbound(self) -> Any:
        if self._outbound is None:
            self._outbound = self.build()
        return self._outbound


@dataclass
class Claim:
    mailbox: Mailbox | None
    messages: list[Claimed] = field(default_factory=list)
    cancelled: int = 0
    # Put back until the lead's window opens again.
    held: int = 0
    # Why nothing was claimed (cap reached, gap not elapsed, paused...), for the logs.
    idle_reason: str | None = None
    # When the messages were claimed: the reconciler's clock for those not yet started.
    at: datetime | None = None


def _zone(mailbox: Mailbox) -> ZoneInfo:
    try:
        return ZoneInfo(mailbox.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def back_to_back(mailbox: Mailbox) -> bool:
    """No minimum gap and no jitter: sends may follow each other at once."""
    return mailbox.min_gap_seconds <= 0 and mailbox.jitter_seconds <= 0


def next_local_midnight(mailbox: Mailbox, now: datetime) -> datetime:
    zone = _zone(mailbox)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone)


async def claim_batch(
    session: AsyncSession,
    settings: Settings,
    mailbox_id: uuid.UUID,
    now: datetime,
    *,
    limit: int,
    horizon: timedelta,
    burst_limit: int | None = None,
) -> Claim:
    """Claim up to `limit` due messages (`burst_limit` when the mailbox has no gap between
    sends: they go back to back, so a bigger claim costs no fairness)."""
    # NO KEY UPDATE: claims of one mailbox queue behind each other, while a scheduler inserting
    # messages that reference the mailbox (a KEY SHARE lock) does not wait for them.
    mailbox = await session.scalar(
        select(Mailbox).where(Mailbox.id == mailbox_id).with_for_update(key_share=True)
    )
    if mailbox is None or mailbox.state != MailboxState.active:
        return Claim(mailbox, idle_reason="mailbox not active")
    if settings.test_mode and not settings.test_recipients:
        mailbox.last_error = "TEST_MODE is on but TEST_RECIPIENTS is empty: nothing is sent."
        return Claim(mailbox, idle_reason="no test recipients")
    own = mailbox_window_state(mailbox.window, mailbox.timezone, now)
    # Outside its window the mailbox sends only a person's replies from the inbox; the rest
    # stays queued, untouched, and the dispatcher skips the mailbox until the window opens.
    replies_only = not own.is_open
    sent = (await capacity.sent_today(session, [mailbox.id], now))[mailbox.id]
    remaining = capacity.remaining_today(mailbox, sent, now.astimezone(_zone(mailbox)).date())
    if remaining <= 0:
        mailbox.next_send_at = next_local_midnight(mailbox, now)
        return Claim(mailbox, idle_reason="daily cap reached")
    if burst_limit is not None and back_to_back(mailbox):
        limit = max(limit, burst_limit)
    result = await session.execute(
        select(*DUE_COLUMNS)
        .outerjoin(Enrollment, Enrollment.id == Message.enrollment_id)
        .outerjoin(Sequence, Sequence.id == Enrollment.sequence_id)
        .outerjoin(Lead, Lead.id == Message.lead_id)
        .where(
            Message.mailbox_id == mailbox.id,
            Message.status == MessageStatus.queued,
            Message.send_after <= now,
            Message.direction == "outbound",
            PERSONAL_REPLY if replies_only else true(),
        )
        .order_by(Message.send_after, Message.seq)
        .limit(min(limit, remaining))
        .with_for_update(skip_locked=True, of=_MESSAGES)
    )
    rows = [DueMessage(*row) for row in result]
    if not rows and replies_only:
        mailbox.next_send_at = own.opens_at
        return Claim(mailbox, idle_reason="outside the mailbox's sending window")
    if not rows:
        return Claim(mailbox, idle_reason="nothing due")
    claim = Claim(mailbox, at=now)
    rows = await _drop_unsendable(session, mailbox, rows, now, claim)
    rows = await _hold_outside_window(session, rows, now, claim)
    if not rows:
        await session.flush()
        claim.idle_reason = "outside the leads' windows" if claim.held else "nothing sendable"
        return claim
    closes_at = None if replies_only else own.closes_at
    slots = _plan(mailbox, rows, now, now + horizon, closes_at)
    if rows and not slots:
        first = mailbox.last_sent_at or now
        gap_over = first + capacity.next_gap(mailbox, str(rows[0].id))
        if closes_at is not None and gap_over >= closes_at:
            mailbox.next_send_at = mailbox_window_state(
                mailbox.window, mailbox.timezone, closes_at
            ).opens_at
            claim.idle_reason = "outside the mailbox's sending window"
        else:
            mailbox.next_send_at = gap_over
            claim.idle_reason = "minimum gap not elapsed"
        return claim
    channel = channel_of(mailbox.channel)
    for message, _ in slots:
        await channel.seal(session, settings, mailbox, message)
    values: dict[str, Any] = {
        "status": MessageStatus.sending,
        "attempts": Message.attempts + 1,
        "sending_started_at": None,
        "provider": mailbox.provider,
        "from_address": func.coalesce(Message.from_address, mailbox.from_email),
    }
    if settings.test_mode:
        values["delivered_to"] = ", ".join(settings.test_recipients)
    await session.execute(
        update(Message).where(ids_in(Message.id, [m.id for m, _ in slots])).values(**values)
    )
    for message, planned in slots:
        message.attempts += 1
        claim.messages.append(
            Claimed(
                id=message.id,
                workspace_id=message.workspace_id,
                enrollment_id=message.enrollment_id,
                to_address=message.to_address,
                attempt=message.attempts,
                planned_at=planned,
                build=partial(channel.build, settings, mailbox, message),
            )
        )
    mailbox.next_send_at = slots[-1][1] + timedelta(seconds=max(0, mailbox.min_gap_seconds))
    await session.flush()
    return claim


async def _drop_unsendable(
    session: AsyncSession, mailbox: Mailbox, rows: list[DueMessage], now: datetime, claim: Claim
) -> list[DueMessage]:
    channel: Channel = channel_of(mailbox.channel)
    by_email = await channel.suppressed(session, mailbox.workspace_id, [m.to_address for m in rows])
    lead_ids = {m.lead_id for m in rows if m.lead_id is not None}
    by_lead = await suppression.suppressed_lead_ids(session, mailbox.workspace_id, lead_ids)
    keep: list[DueMessage] = []
    paused: list[uuid.UUID] = []
    cancelled: list[dict[str, Any]] = []
    for message in rows:
        state = message.enrollment_state
        if message.enrollment_id is not None and state is None:
            cancelled.append(_cancel(message, "enrollment deleted"))
        elif state == EnrollmentState.paused:
            paused.append(message.id)
        elif state is not None and state not in SENDABLE:
            cancelled.append(
                _cancel(message, f"enrollment {state.value}: {message.stop_reason or 'no reason'}")
            )
        elif reason := by_email.get(message.to_address) or (
            by_lead.get(message.lead_id) if message.lead_id else None
        ):
            cancelled.append(_cancel(message, f"recipient suppressed ({reason})"))
            await stops.stop_enrollment(session, message.enrollment_id, "suppressed", now)
        else:
            keep.append(message)
    if paused:
        await session.execute(
            update(Message)
            .where(ids_in(Message.id, paused))
            .values(send_after=now + PAUSED_RECHECK)
        )
    if cancelled:
        await session.execute(
            update(_MESSAGES)
            .where(_MESSAGES.c.id == bindparam("b_id"))
            .values(status=MessageStatus.cancelled, error=bindparam("b_error")),
            cancelled,
        )
        claim.cancelled += len(cancelled)
    return keep


def _cancel(message: DueMessage, why: str) -> dict[str, Any]:
    return {"b_id": message.id, "b_error": f"cancelled: {why}"}


async def _hold_outside_window(
    session: AsyncSession, rows: list[DueMessage], now: datetime, claim: Claim
) -> list[DueMessage]:
    """Keep the messages whose lead's window is open now; queue the others again for the
    window's next opening (same window and zone policy as the scheduler), in one statement."""
    windows: dict[uuid.UUID, SendingWindow] = {}
    # (sequence, lead zone, sequence zone) -> None when open now, else the next opening.
    verdicts: dict[tuple[uuid.UUID, str | None, str], datetime | None] = {}
    keep: list[DueMessage] = []
    held: dict[uuid.UUID, datetime] = {}
    for message in rows:
        if message.sequence_id is None or message.sequence_zone is None:
            keep.append(message)  # no sequence (a test send): no window
            continue
        key = (message.sequence_id, message.lead_zone, message.sequence_zone)
        if key not in verdicts:
            if (window := windows.get(message.sequence_id)) is None:
                data = json.loads(message.window) if message.window else None
                window = windows[message.sequence_id] = window_or_default(data)
            zone = resolve_zone(message.lead_zone, message.sequence_zone)
            verdicts[key] = None if is_open(window, zone, now) else next_open(window, zone, now)
        if (opens := verdicts[key]) is None:
            keep.append(message)
        else:
            held[message.id] = opens
    if held:
        until = (
            func.unnest(
                bindparam(None, list(held), type_=ARRAY(Uuid())),
                bindparam(None, list(held.values()), type_=ARRAY(DateTime(timezone=True))),
            )
            .table_valued(column("id", Uuid()), column("at", DateTime(timezone=True)))
            .render_derived()
        )
        await session.execute(
            update(_MESSAGES).where(_MESSAGES.c.id == until.c.id).values(send_after=until.c.at)
        )
        claim.held += len(held)
    return keep


def _plan(
    mailbox: Mailbox,
    rows: list[DueMessage],
    now: datetime,
    horizon: datetime,
    closes_at: datetime | None,
) -> list[tuple[DueMessage, datetime]]:
    """Planned send times: each at least the gap after the one before (and after the mailbox's
    last send), none after `horizon` nor at or after the mailbox's window closes."""
    slots: list[tuple[DueMessage, datetime]] = []
    previous = mailbox.last_sent_at
    for message in rows:
        at = (
            now
            if previous is None
            else max(now, previous + capacity.next_gap(mailbox, str(message.id)))
        )
        if at > horizon or (closes_at is not None and at >= closes_at):
            break
        slots.append((message, at))
        previous = at
    return slots
