"""Read-side queries for the sequences API and pages: counts per sequence for the list, the
detailed stats (stops by reason, messages per step) and enrollment rows with their lead.
Test sends (messages without an enrollment) are never counted."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import scoped
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    Message,
    MessageStatus,
    SequenceStep,
)
from leadflood.sequences import service as sequences
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
        .where(Enrollment.workspace_id == workspace_id, Enrollment.sequence_id.in_(sequence_ids))
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
        .where(
            SequenceStep.workspace_id == workspace_id, SequenceStep.sequence_id.in_(sequence_ids)
        )
        .group_by(SequenceStep.sequence_id)
    )
    for sequence_id, count in steps:
        found[sequence_id].steps = count
    sent = await session.execute(
        select(Enrollment.sequence_id, func.count())
        .join(Message, Message.enrollment_id == Enrollment.id)
        .where(
            Enrollment.workspace_id == workspace_id,
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


async def enrollment_rows(
    session: AsyncSession, workspace_id: uuid.UUID, enrollments: list[Enrollment]
) -> list[EnrollmentRow]:
    lead_ids = [e.lead_id for e in enrollments]
    leads = {
        lead.id: lead
        for lead in await session.scalars(scoped(Lead, workspace_id).where(Lead.id.in_(lead_ids)))
    }
    rows: list[EnrollmentRow] = []
    for enrollment in enrollments:
        lead = leads.get(enrollment.lead_id)
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) if lead else ""
        rows.append(
            EnrollmentRow.model_validate(enrollment).model_copy(
                update={"lead_email": lead.email if lead else None, "lead_name": name or None}
            )
        )
    return rows
