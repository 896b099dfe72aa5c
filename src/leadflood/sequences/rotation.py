"""Which mailbox sends an enrollment's next message, and when: the sticky mailbox for
follow-ups, else the sequence's active mailbox with the earliest free slot that still has
capacity today. Slots are spaced by the mailbox's gap (minimum + stable jitter).

`MailboxPlan` holds one tick's view of a mailbox. It is built after taking a transaction-level
advisory lock per mailbox, so two ticks never plan the same mailbox's day at once (the
delivery side, which updates mailbox rows, is not blocked by it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.mailboxes import capacity
from leadflood.mailboxes.windows import (
    SendingWindow,
    is_open,
    mailbox_window,
    next_open,
    resolve_zone,
)
from leadflood.models import Mailbox, MailboxState


@dataclass
class MailboxPlan:
    mailbox: Mailbox
    zone: ZoneInfo
    window: SendingWindow | None
    remaining: int
    free_at: datetime
    day_end: datetime  # the end of the mailbox's "today" (its own zone)

    @property
    def usable(self) -> bool:
        return self.mailbox.state == MailboxState.active

    def slot(self, now: datetime) -> datetime:
        return max(now, self.free_at)

    def take(self, at: datetime, key: str) -> None:
        self.remaining -= 1
        self.free_at = at + capacity.next_gap(self.mailbox, key)


async def lock(session: AsyncSession, mailbox_ids: list[uuid.UUID]) -> None:
    # One at a time, in id order: two ticks locking overlapping sets never deadlock.
    for mailbox_id in sorted(mailbox_ids):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"mailbox-plan:{mailbox_id}"},
        )


async def plans(
    session: AsyncSession, mailboxes: list[Mailbox], now: datetime
) -> dict[uuid.UUID, MailboxPlan]:
    """Capacity left today (sent, sending and queued for today all count) and the first free
    slot (after the last queued message, the last send and the delivery's own next slot)."""
    if not mailboxes:
        return {}
    ids = [m.id for m in mailboxes]
    await lock(session, ids)
    used = await capacity.sent_today(session, ids, now)
    rows = await session.execute(
        text(
            """
            SELECT m.id,
                   (SELECT count(*) FROM messages AS q
                     WHERE q.mailbox_id = m.id AND q.status = 'queued'
                       AND q.send_after >= date_trunc('day', :now AT TIME ZONE m.timezone)
                                             AT TIME ZONE m.timezone
                       AND q.send_after < (date_trunc('day', :now AT TIME ZONE m.timezone)
                                             + interval '1 day') AT TIME ZONE m.timezone),
                   (SELECT max(q.send_after) FROM messages AS q
                     WHERE q.mailbox_id = m.id AND q.status = 'queued')
            FROM mailboxes AS m
            WHERE m.id = ANY(:ids)
            """
        ),
        {"ids": ids, "now": now},
    )
    queued = {row[0]: (int(row[1]), row[2]) for row in rows}
    result: dict[uuid.UUID, MailboxPlan] = {}
    for mailbox in mailboxes:
        zone = resolve_zone(mailbox.timezone, "UTC")
        local = now.astimezone(zone)
        today = local.date()
        tomorrow = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
        count, last_queued = queued.get(mailbox.id, (0, None))
        gap = timedelta(seconds=max(0, mailbox.min_gap_seconds))
        free_at = now
        for candidate in (last_queued, mailbox.last_sent_at):
            if candidate is not None:
                free_at = max(free_at, candidate + gap)
        if mailbox.next_send_at is not None:
            free_at = max(free_at, mailbox.next_send_at)
        result[mailbox.id] = MailboxPlan(
            mailbox=mailbox,
            zone=zone,
            window=mailbox_window(mailbox.window),
            remaining=capacity.remaining_today(mailbox, used.get(mailbox.id, 0) + count, today),
            free_at=free_at,
            day_end=tomorrow.astimezone(UTC),
        )
    return result


@dataclass(frozen=True)
class Choice:
    plan: MailboxPlan | None
    at: datetime | None  # the send time when `plan` is set
    retry_at: datetime | None  # otherwise: when to look again (None: no mailbox at all)


def choose(
    candidates: list[MailboxPlan],
    *,
    now: datetime,
    lead_window: SendingWindow,
    lead_zone: ZoneInfo,
) -> Choice:
    """The candidate whose next slot is earliest among those that can send inside the lead's
    window; otherwise the earliest time one of them might (always later than `now`)."""
    usable = [p for p in candidates if p.usable]
    if not usable:
        return Choice(None, None, None)
    best: MailboxPlan | None = None
    best_at: datetime | None = None
    retry: datetime | None = None
    for plan in usable:
        at = plan.slot(now)
        later = _blocked_until(plan, at, lead_window, lead_zone)
        if later is None:
            if best_at is None or at < best_at:
                best, best_at = plan, at
        elif retry is None or later < retry:
            retry = later
    if best is not None:
        return Choice(best, best_at, None)
    return Choice(None, None, retry)


def _blocked_until(
    plan: MailboxPlan, at: datetime, lead_window: SendingWindow, lead_zone: ZoneInfo
) -> datetime | None:
    """None when `plan` can send at `at`; else a later time worth looking again."""
    if plan.remaining <= 0:
        return plan.day_end
    if at >= plan.day_end:
        return at
    if plan.window is not None and not is_open(plan.window, plan.zone, at):
        return next_open(plan.window, plan.zone, at)
    if not is_open(lead_window, lead_zone, at):
        return next_open(lead_window, lead_zone, at)
    return None


__all__ = ["Choice", "MailboxPlan", "choose", "lock", "plans", "resolve_zone"]
