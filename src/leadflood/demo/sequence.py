"""Demo mode's ready sequence: three email steps (draft), sending from the demo mailbox at any
hour, so enrolling sandbox leads and activating it shows mail in the Outbox within a minute.
Idempotent: found by name on later runs, never duplicated or overwritten."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.models import Sequence
from leadflood.sequences import service as sequences
from leadflood.sequences import steps
from leadflood.sequences.schemas import SequenceCreate, StepCreate, VariantIn, WindowIn

DEMO_SEQUENCE = "Demo: three-step intro"
DEMO_STEPS = (
    (0, "hours", "Quick question, {{ first_name | default('there') }}",
     "Hi {{ first_name | default('there') }},\n\nI noticed "
     "{{ company.name | default('your team') }} is growing. Teams like yours use us to "
     "book more meetings with less manual work.\n\n"
     "Worth a 15-minute chat next week?\n\n{{ sender.signature }}"),
    (2, "business_days", "",
     "Hi {{ first_name | default('there') }}, just bumping this in case it got buried.\n\n"
     "{{ sender.signature }}"),
    (3, "business_days", "Should I close your file?",
     "Hi {{ first_name | default('there') }},\n\nI don't want to clutter your inbox: if now is "
     "not the time, no reply needed and I will not follow up again.\n\n{{ sender.signature }}"),
)  # fmt: skip


async def ensure_demo_sequence(
    session: AsyncSession, workspace_id: uuid.UUID, mailbox_id: uuid.UUID
) -> Sequence:
    found = await session.scalar(
        select(Sequence).where(in_workspace(Sequence, workspace_id), Sequence.name == DEMO_SEQUENCE)
    )
    if found is not None:
        return found
    sequence = await sequences.create(
        session,
        workspace_id,
        SequenceCreate(
            name=DEMO_SEQUENCE,
            description="Ready to try: enroll sandbox leads, activate, and watch the Outbox.",
            timezone="UTC",
            # Open every day, all day: the demo shows mail at once whatever the time.
            window=WindowIn(days=[0, 1, 2, 3, 4, 5, 6], start="00:00", end="23:59"),
            postal_address="Lead Flood Demo, 1 Example Street, Springfield",
            mailbox_ids=[mailbox_id],
        ),
    )
    for amount, unit, subject, body in DEMO_STEPS:
        await steps.add(
            session,
            workspace_id,
            sequence.id,
            StepCreate(
                delay_amount=amount,
                delay_unit=unit,
                variants=[VariantIn(subject=subject, body=body)],
            ),
        )
    return sequence
