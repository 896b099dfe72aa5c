"""Stopping everything planned for a person: their active enrollments end with a reason and
their queued messages are cancelled, on every channel, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.models import Enrollment, EnrollmentState, Lead, Message, MessageStatus

LIVE_ENROLLMENT = (EnrollmentState.active, EnrollmentState.paused)


async def leads_with_email(
    session: AsyncSession, workspace_id: uuid.UUID, emails: Iterable[str]
) -> list[uuid.UUID]:
    wanted = sorted({e.strip().lower() for e in emails if e})
    if not wanted:
        return []
    rows = await session.scalars(
        select(Lead.id).where(in_workspace(Lead, workspace_id), func.lower(Lead.email).in_(wanted))
    )
    return list(rows)


async def stop_person(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    reason: str,
    lead_ids: Iterable[uuid.UUID] = (),
    emails: Iterable[str] = (),
    now: datetime | None = None,
) -> tuple[int, int]:
    """Stop the live enrollments of these leads (and of every lead with one of these emails) and
    cancel their queued messages. Returns (enrollments stopped, messages cancelled)."""
    now = now or datetime.now(UTC)
    emails = [e.strip().lower() for e in emails if e]
    ids = set(lead_ids) | set(await leads_with_email(session, workspace_id, emails))
    stopped = 0
    if ids:
        result = await session.execute(
            update(Enrollment)
            .where(
                in_workspace(Enrollment, workspace_id),
                Enrollment.lead_id.in_(ids),
                Enrollment.state.in_(LIVE_ENROLLMENT),
            )
            .values(
                state=EnrollmentState.stopped,
                stop_reason=reason,
                stopped_at=now,
                next_run_at=None,
            )
        )
        stopped = int(getattr(result, "rowcount", 0) or 0)
    matches = []
    if ids:
        matches.append(Message.lead_id.in_(ids))
    if emails:
        matches.append(func.lower(Message.to_address).in_(emails))
    cancelled = 0
    if matches:
        result = await session.execute(
            update(Message)
            .where(
                in_workspace(Message, workspace_id),
                Message.status == MessageStatus.queued,
                Message.direction == "outbound",
                or_(*matches),
            )
            .values(status=MessageStatus.cancelled, error=f"cancelled: {reason}")
        )
        cancelled = int(getattr(result, "rowcount", 0) or 0)
    return stopped, cancelled


async def stop_enrollment(
    session: AsyncSession, enrollment_id: uuid.UUID | None, reason: str, now: datetime
) -> None:
    """End one enrollment (bounce, failure) unless it already ended."""
    if enrollment_id is None:
        return
    await session.execute(
        update(Enrollment)
        .where(Enrollment.id == enrollment_id, Enrollment.state.in_(LIVE_ENROLLMENT))
        .values(state=EnrollmentState.stopped, stop_reason=reason, stopped_at=now, next_run_at=None)
    )
