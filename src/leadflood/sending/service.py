"""The sending engine's entry points for other features: start delivery for a mailbox now."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs

DELIVER = "sending.deliver_mailbox"


def mailbox_lock(mailbox_id: uuid.UUID | str) -> str:
    # `lock`: one job sends for a mailbox at a time, many mailboxes in parallel.
    return f"sending.mailbox:{mailbox_id}"


# No queueing lock: Procrastinate's stalled-job retry puts a dead worker's job back to `todo`,
# which a queueing lock would refuse while the dispatcher's next job waits (and the rescue
# would fail). We defer only when no job of the mailbox is waiting or running instead.
_PENDING = text(
    "SELECT lock FROM procrastinate_jobs WHERE lock = ANY(:locks) AND status IN ('todo', 'doing')"
)


async def without_job(session: AsyncSession, mailbox_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The mailboxes with no delivery job waiting or running."""
    if not mailbox_ids:
        return []
    locks = [mailbox_lock(m) for m in mailbox_ids]
    pending = set(await session.scalars(_PENDING, {"locks": locks}))
    return [m for m in mailbox_ids if mailbox_lock(m) not in pending]


async def kick(session: AsyncSession, mailbox_id: uuid.UUID) -> bool:
    """Defer delivery for this mailbox in the session's transaction (after queueing messages, so
    they leave without waiting for the dispatcher). False when a job of this mailbox is already
    waiting or running."""
    if not await without_job(session, [mailbox_id]):
        return False
    await jobs.defer(session, DELIVER, lock=mailbox_lock(mailbox_id), mailbox_id=str(mailbox_id))
    return True
