"""Read-side queries for the sequences API and pages: counts per sequence for the list, the
detailed stats (stops by reason, messages per step) and enrollment rows with their lead and
what each waits for.
Test sends (messages without an enrollment) are never counted."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.mailboxes import capacity
from leadflood.mailboxes.windows import window_or_default
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    Mailbox,
    Message,
    MessageStatus,
    Sequence,
    SequenceStep,
)
from leadflood.sequences import service as sequences
from leadflood.sequences import waiting
from leadflood.sequences.api_schemas import (
    EnrollmentRow,
    SequenceCounts,
    SequenceReport,
    StepStats,
)


async def counts(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_ids: list[uuid.UUID]
) -> dict[uuid.UUID, SequenceCounts]:
    found: dict[uuid.UUID, SequenceCounts] = {i: SequenceCounts() for i in sequence_ids}
    if not sequence_ids:
        return found
    by_state = await session.execute(
        select(Enrollment.sequence_id, Enrollment.state, func.count())
        .where(in_workspace(Enrollment, workspace_id), Enrollment.sequence_id.in_(sequence_ids))
        .group_by(Enrollment.sequence_id, Enrollment.state)
    )
    for sequence_id, state, count in by_state:
        row = found[sequence_id]
        row.enrolled += count
        if state in (EnrollmentState.active, EnrollmentState.paused):
            row.active += count
        elif state == EnrollmentState.completed:
            row.completed += count
        else:
            row.stopped += count
    steps = await session.execute(
        select(SequenceStep.sequence_id, func.count())
        .where(in_workspace(SequenceStep, workspace_id), SequenceStep.sequence_id.in_(sequence_ids))
        .group_by(SequenceStep.sequence_id)
    )
    for sequence_id, count in steps:
        found[sequence_id].steps = count
    sent = await session.execute(
        select(Enrollment.sequence_id, func.count())
        .join(Message, Message.enrollment_id == Enrollment.id)
        .where(
            in_workspace(Enrollment, workspace_id),
            Enrollment.sequence_id.in_(sequence_ids),
            Message.status == MessageStatus.sent,
        )
        .group_by(Enrollment.sequence_id)
    )
    for sequence_id, count in sent:
        found[sequence_id].sent = count
    return found


async def report(
    session: AsyncSession, workspace_id: uuid.UUID, sequence_id: uuid.UUID
) -> SequenceReport:
    base = await sequences.stats(session, workspace_id, sequence_id)
    sequence = await sequences.get(session, workspace_id, sequence_id)
    reasons = await session.execute(
        select(func.coalesce(Enrollment.stop_reason, "unknown"), func.count())
        .where(Enrollment.sequence_id == sequence_id, Enrollment.state == EnrollmentState.stopped)
        .group_by(Enrollment.stop_reason)
    )
    per_step: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    rows = await session.execute(
        select(Message.step_id, Message.status, func.count())
        .join(Enrollment, Enrollment.id == Message.enrollment_id)
        .where(Enrollment.sequence_id == sequence_id, Message.direction == "outbound")
        .group_by(Message.step_id, Message.status)
    )
    for step_id, status, count in rows:
        if step_id is not None:
            per_step[step_id][status.value] = count
    steps = [
        StepStats(
            position=step.position,
            step_id=step.id,
            messages={s.value: per_step[step.id].get(s.value, 0) for s in MessageStatus},
        )
        for step in sequence.steps
    ]
    return SequenceReport(
        **base.model_dump(),
        enrolled=sum(base.enrollments.values()),
        stopped_by_reason={str(reason): int(count) for reason, count in reasons},
        steps=steps,
    )


_ROW_COLUMNS = (
    Enrollment.id,
    Lead.email,
    Lead.first_name,
    Lead.last_name,
    Lead.timezone,
    Sequence.timezone,
    Sequence.state,
    Sequence.window,
    Message.status,
    Message.send_after,
    SequenceStep.position,
    Mailbox,
)


async def enrollment_rows(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    enrollments: list[Enrollment],
    *,
    now: datetime | None = None,
) -> list[EnrollmentRow]:
    """The page's enrollments with their lead, the zone their times are shown in and what each
    active one waits for: one query joins each enrollment to its lead, sequence, oldest unsent
    message and that message's mailbox; one more counts those mailboxes' sends today."""
    now = now or datetime.now(UTC)
    if not enrollments:
        return []
    found = await session.execute(
        select(*_ROW_COLUMNS)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .outerjoin(
            Message,
            and_(
                Message.enrollment_id == Enrollment.id,
                Message.direction == "outbound",
                Message.status.in_((MessageStatus.queued, MessageStatus.sending)),
            ),
        )
        .outerjoin(SequenceStep, SequenceStep.id == Message.step_id)
        .outerjoin(Mailbox, Mailbox.id == Message.mailbox_id)
        .where(
            in_workspace(Enrollment, workspace_id),
            Enrollment.id.in_([e.id for e in enrollments]),
        )
        .ext(distinct_on(Enrollment.id))
        .order_by(Enrollment.id, Message.send_after.asc().nulls_last(), Message.seq)
    )
    by_id = {row[0]: row for row in found}
    mailbox_ids = {row[11].id for row in by_id.values() if row[11] is not None}
    sent = await capacity.sent_today(session, mailbox_ids, now)
    return [_row(e, by_id.get(e.id), sent, now) for e in enrollments]


def _row(
    enrollment: Enrollment, found: Any, sent: dict[uuid.UUID, int], now: datetime
) -> EnrollmentRow:
    row = EnrollmentRow.model_validate(enrollment)
    if found is None:
        return row
    _, email, first, last, lead_zone, sequence_zone, sequence_state, window = found[:8]
    status, send_after, position, mailbox = found[8:]
    clock = waiting.Clock.of(lead_zone, sequence_zone, now)
    queued = None
    if status is not None:
        queued = waiting.Queued(
            step=position,
            status=status,
            send_after=send_after,
            mailbox=mailbox,
            sent_today=sent.get(mailbox.id, 0) if mailbox is not None else 0,
        )
    name = " ".join(p for p in (first, last) if p)
    return row.model_copy(
        update={
            "lead_email": email,
            "lead_name": name or None,
            "time_zone": clock.zone.key,
            "waiting": waiting.explain(
                state=enrollment.state,
                next_step=enrollment.next_step,
                next_run_at=enrollment.next_run_at,
                sequence_state=sequence_state,
                window=window_or_default(window),
                clock=clock,
                queued=queued,
            ),
        }
    )
