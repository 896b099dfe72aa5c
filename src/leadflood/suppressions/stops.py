"""Stopping outreach: the one definition of an enrollment that can still send, and the one way
to stop enrollments (with a reason) and cancel their queued messages, on every channel, in the
caller's transaction.

Two kinds of stop use it. A person's outreach ends (a hard bounce, an unsubscribe, a complaint,
a reply): every enrollment of theirs that has not already stopped becomes `stopped` with the
reason, whatever step it was on, completed ones included (the scheduler completes an enrollment
when it queues the last step, so "completed" may still have a message on its way; and a finished
one should say why the person left). A person stops some enrollments (a manual stop, an archived
sequence): only those that can still send are stopped; finished ones stay `completed`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events
from leadflood.db.scope import in_workspace
from leadflood.models import Enrollment, EnrollmentState, Lead, Message, MessageStatus

# Messages that have not left: waiting for their turn, or in a worker's hands.
UNSENT = (MessageStatus.queued, MessageStatus.sending)


def can_still_send() -> ColumnElement[bool]:
    """An enrollment that can still send: active, paused, or completed with its last message not
    yet gone."""
    unsent = (
        select(Message.id)
        .where(
            Message.enrollment_id == Enrollment.id,
            Message.status.in_(UNSENT),
            Message.direction == "outbound",
        )
        .exists()
    )
    return or_(
        Enrollment.state.in_([EnrollmentState.active, EnrollmentState.paused]),
        and_(Enrollment.state == EnrollmentState.completed, unsent),
    )


async def stop_enrollments(
    session: AsyncSession,
    condition: Any,
    reason: str,
    now: datetime,
    *,
    finished_too: bool = False,
) -> list[uuid.UUID]:
    """Stop the enrollments matching `condition` that can still send (with `finished_too`: every
    one not already stopped) and cancel their queued messages; the ids stopped."""
    which = Enrollment.state != EnrollmentState.stopped if finished_too else can_still_send()
    stopped = await session.execute(
        update(Enrollment)
        .where(condition, which)
        .values(state=EnrollmentState.stopped, stop_reason=reason, stopped_at=now, next_run_at=None)
        .returning(
            Enrollment.id, Enrollment.workspace_id, Enrollment.lead_id, Enrollment.sequence_id
        )
        .execution_options(synchronize_session=False)
    )
    rows = stopped.all()
    ids = [row.id for row in rows]
    await cancel_queued(session, ids, reason)
    by_workspace: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        by_workspace.setdefault(row.workspace_id, []).append(
            {"enrollment_id": row.id, "lead_id": row.lead_id, "sequence_id": row.sequence_id,
             "reason": reason, "stopped_at": now}
        )  # fmt: skip
    for workspace_id, items in by_workspace.items():
        await events.emit_many(session, workspace_id, events.ENROLLMENT_STOPPED, items)
    return ids


async def cancel_queued(
    session: AsyncSession, enrollment_ids: list[uuid.UUID], reason: str | None = None
) -> None:
    """Cancel the queued messages of these enrollments (one in a worker's hands is re-checked
    by the claim, which finds its enrollment stopped)."""
    if not enrollment_ids:
        return
    await session.execute(
        update(Message)
        .where(
            Message.enrollment_id.in_(enrollment_ids),
            Message.status == MessageStatus.queued,
            Message.direction == "outbound",
        )
        .values(
            status=MessageStatus.cancelled,
            **({"error": f"cancelled: {reason}"} if reason else {}),
        )
        .execution_options(synchronize_session=False)
    )


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
    """A person's outreach ends: every enrollment of these leads (and of every lead with one of
    these emails) that has not stopped yet stops with `reason`, and every queued message to them
    is cancelled (test sends and other messages without an enrollment too). Returns
    (enrollments stopped, messages cancelled)."""
    now = now or datetime.now(UTC)
    emails = [e.strip().lower() for e in emails if e]
    ids = set(lead_ids) | set(await leads_with_email(session, workspace_id, emails))
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
            .execution_options(synchronize_session=False)
        )
        cancelled = int(getattr(result, "rowcount", 0) or 0)
    stopped: list[uuid.UUID] = []
    if ids:
        stopped = await stop_enrollments(
            session,
            and_(in_workspace(Enrollment, workspace_id), Enrollment.lead_id.in_(ids)),
            reason,
            now,
            finished_too=True,
        )
    return len(stopped), cancelled


async def stop_enrollment(
    session: AsyncSession, enrollment_id: uuid.UUID | None, reason: str, now: datetime
) -> None:
    """End one enrollment because of its own message (bounce, permanent failure, suppressed at
    claim), whatever step it was on, unless it already stopped."""
    if enrollment_id is not None:
        await stop_enrollments(
            session, Enrollment.id == enrollment_id, reason, now, finished_too=True
        )
