"""A lead's outreach: every message sent, queued or received, with its sequence and step and
its inbox thread (the lead page's card and `GET /v1/leads/{id}/messages`)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.leads.schemas import OutreachMessage
from leadflood.models import Message, Sequence, SequenceStep

SHOWN = 200


async def messages_of(
    session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID, *, limit: int = SHOWN
) -> list[OutreachMessage]:
    """Newest first, up to `limit`."""
    rows = await session.execute(
        select(Message, SequenceStep.position, Sequence.id, Sequence.name)
        .outerjoin(SequenceStep, SequenceStep.id == Message.step_id)
        .outerjoin(Sequence, Sequence.id == SequenceStep.sequence_id)
        .where(in_workspace(Message, workspace_id), Message.lead_id == lead_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return [
        OutreachMessage(
            id=m.id,
            direction=m.direction,
            channel=m.channel,
            status=m.status.value,
            subject=m.subject,
            to_address=m.to_address,
            error=m.error,
            sequence_id=sequence_id,
            sequence_name=sequence_name,
            step=position,
            thread_id=m.thread_id,
            send_after=m.send_after,
            sent_at=m.sent_at,
            created_at=m.created_at,
        )
        for m, position, sequence_id, sequence_name in rows
    ]
