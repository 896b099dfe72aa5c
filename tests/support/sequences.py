"""Factories for sequences tests: plain async functions with keyword defaults."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import service as accounts
from leadflood.models import Lead, Mailbox, Sequence, SequenceState, VerificationStatus
from leadflood.sequences import service as sequences
from leadflood.sequences import steps
from leadflood.sequences.schemas import SequenceCreate, StepCreate, VariantIn, WindowIn

FIXED_NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday


async def make_workspace(session: AsyncSession, name: str | None = None) -> uuid.UUID:
    workspace = await accounts.create_workspace(session, name=name or f"ws-{uuid.uuid4().hex[:6]}")
    return workspace.id


async def make_lead(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    email: str | None = "",
    first_name: str | None = "Ada",
    timezone: str | None = None,
    verification: VerificationStatus = VerificationStatus.valid,
    **values: Any,
) -> Lead:
    if email == "":
        email = f"lead-{uuid.uuid4().hex[:10]}@prospect.example"
    lead = Lead(
        workspace_id=workspace_id,
        email=email,
        first_name=first_name,
        timezone=timezone,
        verification_status=verification,
        **values,
    )
    session.add(lead)
    await session.flush()
    return lead


async def make_mailbox(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    daily_cap: int = 1000,
    min_gap_seconds: int = 0,
    jitter_seconds: int = 0,
    provider: str = "smtp",
    config: dict[str, Any] | None = None,
    from_email: str | None = None,
    **values: Any,
) -> Mailbox:
    mailbox = Mailbox(
        workspace_id=workspace_id,
        name="Sales",
        provider=provider,
        from_name="Sam Sender",
        from_email=from_email or f"sam-{uuid.uuid4().hex[:6]}@sender.example",
        daily_cap=daily_cap,
        min_gap_seconds=min_gap_seconds,
        jitter_seconds=jitter_seconds,
        config=config or {},
        **values,
    )
    session.add(mailbox)
    await session.flush()
    return mailbox


Step = tuple[int, str, str, str]  # (delay amount, unit, subject, body)
DEFAULT_STEPS: list[Step] = [
    (0, "hours", "Hello {{ first_name | default('there') }}", "Hi {{ first_name }},\nA note."),
    (2, "business_days", "", "Following up, {{ first_name | default('there') }}."),
]


async def make_sequence(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    mailboxes: Seq[Mailbox] = (),
    step_specs: Seq[Step] = tuple(DEFAULT_STEPS),
    window: dict[str, Any] | None = None,
    timezone: str = "UTC",
    postal_address: str = "Acme Inc, 1 Main Street, Springfield",
    stop_rules: dict[str, Any] | None = None,
    activate: bool = True,
    now: datetime = FIXED_NOW,
) -> Sequence:
    data = SequenceCreate(
        name=f"Sequence {uuid.uuid4().hex[:4]}",
        timezone=timezone,
        window=WindowIn(
            **(window or {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59:59"})
        ),
        postal_address=postal_address,
        mailbox_ids=[m.id for m in mailboxes],
        **({"stop_rules": stop_rules} if stop_rules is not None else {}),
    )
    sequence = await sequences.create(session, workspace_id, data)
    for amount, unit, subject, body in step_specs:
        await steps.add(
            session,
            workspace_id,
            sequence.id,
            StepCreate(
                delay_amount=amount,
                delay_unit=unit,  # type: ignore[arg-type]
                variants=[VariantIn(subject=subject, body=body)],
            ),
        )
    if activate:
        await sequences.transition(
            session, workspace_id, sequence.id, SequenceState.active, now=now
        )
    return await sequences.get(session, workspace_id, sequence.id)


TABLES = (
    "delivery_attempts",
    "messages",
    "unsubscribe_tokens",
    "enrollments",
    "step_variants",
    "sequence_steps",
    "sequence_mailboxes",
    "sequences",
    "suppressions",
    "mailboxes",
    "leads",
)


async def clean(session: AsyncSession) -> None:
    """Empty the sequences tables between Hypothesis examples (one database per test)."""
    await session.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
