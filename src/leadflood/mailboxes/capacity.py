"""How much a mailbox may still send: the daily cap (with its warm-up ramp) and the gap between
two sends (minimum plus a jitter that is random-looking but stable per key)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import Mailbox


def cap_on(mailbox: Mailbox, today: date) -> int:
    """The day's cap: `daily_cap`, or during warm-up `warmup_start` growing by
    `warmup_increment` a day from `warmup_started_on` (no start date yet: day one)."""
    cap = max(0, mailbox.daily_cap)
    if not mailbox.warmup_enabled:
        return cap
    started = mailbox.warmup_started_on or today
    days = max(0, (today - started).days)
    ramp = max(0, mailbox.warmup_start) + max(0, mailbox.warmup_increment) * days
    return min(cap, ramp)


def remaining_today(mailbox: Mailbox, sent_today: int, today: date) -> int:
    return max(0, cap_on(mailbox, today) - sent_today)


async def sent_today(
    session: AsyncSession, mailbox_ids: list[uuid.UUID] | set[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """Messages sent (or being sent) today by each mailbox, "today" in the mailbox's own zone.
    A `sending` message counts: it may already be out; an inbound one (a reply received in the
    mailbox, which keeps its delivery time in `sent_at`) does not."""
    if not mailbox_ids:
        return {}
    rows = await session.execute(
        text(
            """
            SELECT m.id,
                   (SELECT count(*) FROM messages AS x
                     WHERE x.mailbox_id = m.id AND x.direction = 'outbound'
                       AND x.sent_at >= date_trunc('day', :now AT TIME ZONE m.timezone)
                                          AT TIME ZONE m.timezone)
                 + (SELECT count(*) FROM messages AS y
                     WHERE y.mailbox_id = m.id AND y.status = 'sending')
            FROM mailboxes AS m
            WHERE m.id = ANY(:ids)
            """
        ),
        {"ids": list(mailbox_ids), "now": now},
    )
    counts = {row[0]: int(row[1]) for row in rows}
    return {mailbox_id: counts.get(mailbox_id, 0) for mailbox_id in mailbox_ids}


def jitter(mailbox: Mailbox, key: str) -> int:
    spread = max(0, mailbox.jitter_seconds)
    if spread == 0:
        return 0
    digest = hashlib.blake2b(f"gap:{mailbox.id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (spread + 1)


def next_gap(mailbox: Mailbox, key: str) -> timedelta:
    """The wait before the send identified by `key`: min gap + jitter in [0, jitter_seconds]."""
    return timedelta(seconds=max(0, mailbox.min_gap_seconds) + jitter(mailbox, key))
