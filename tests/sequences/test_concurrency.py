"""Invariants 2 and 3 under concurrency: ticks on separate sessions at once, a rewound plan
(as if a tick ran twice), and a stop racing with a tick."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from leadflood.models import Enrollment, EnrollmentState, Message, MessageStatus, VerificationStatus
from leadflood.runtime import Runtime
from leadflood.sequences import enrollment, scheduler
from leadflood.sequences.schemas import EnrollRequest
from leadflood.suppressions import stops
from tests.factories import (
    FIXED_NOW,
    clean,
    make_lead,
    make_mailbox,
    make_sequence,
    make_workspace,
)

LIVE = (MessageStatus.queued, MessageStatus.sending, MessageStatus.sent)
PROPERTY = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _setup(runtime: Runtime, leads: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with runtime.db.session() as session:
        await clean(session)
        ws = (await make_workspace(session)).id
        boxes = [await make_mailbox(session, ws, min_gap_seconds=5) for _ in range(2)]
        seq = await make_sequence(
            session,
            ws,
            mailboxes=boxes,
            step_specs=[(0, "hours", "One", "1"), (0, "hours", "", "2"), (1, "hours", "", "3")],
        )
        lead_ids = [
            (
                await make_lead(
                    session, ws, first_name="Ada", verification_status=VerificationStatus.valid
                )
            ).id
            for _ in range(leads)
        ]
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=lead_ids), now=FIXED_NOW
        )
        return ws, lead_ids


async def _per_step(runtime: Runtime) -> Counter[tuple[uuid.UUID | None, uuid.UUID | None]]:
    async with runtime.db.session() as session:
        rows = await session.execute(select(Message.enrollment_id, Message.step_id))
        return Counter((r[0], r[1]) for r in rows.all())


@PROPERTY
@given(
    leads=st.integers(1, 25),
    batch=st.integers(1, 8),
    rewind=st.booleans(),
)
async def test_concurrent_ticks_never_double_a_step(
    runtime: Runtime, leads: int, batch: int, rewind: bool
) -> None:
    await _setup(runtime, leads)
    later = FIXED_NOW + timedelta(hours=2)
    for now in (FIXED_NOW, later):
        ticks = [
            scheduler.run_until_idle(runtime.db, runtime.settings, now=now, batch=batch)
            for _ in range(3)
        ]
        await asyncio.gather(*ticks)
        if rewind:
            # As if a crashed or stale run planned the same steps again.
            async with runtime.db.session() as session:
                await session.execute(
                    update(Enrollment).values(
                        next_step=1, next_run_at=now, state=EnrollmentState.active
                    )
                )
            await asyncio.gather(
                *[
                    scheduler.run_until_idle(runtime.db, runtime.settings, now=now, batch=batch)
                    for _ in range(2)
                ]
            )
    await scheduler.run_until_idle(runtime.db, runtime.settings, now=later + timedelta(days=3))
    per_step = await _per_step(runtime)
    assert max(per_step.values()) == 1
    assert len(per_step) == leads * 3


@PROPERTY
@given(
    leads=st.integers(1, 12),
    victims=st.sets(st.integers(0, 11), min_size=1, max_size=4),
    delay_ms=st.integers(0, 30),
    by_person=st.booleans(),
)
async def test_a_stop_racing_with_a_tick_wins(
    runtime: Runtime, leads: int, victims: set[int], delay_ms: int, by_person: bool
) -> None:
    ws, lead_ids = await _setup(runtime, leads)
    chosen = [lead_ids[i] for i in sorted(victims) if i < len(lead_ids)] or lead_ids[:1]

    async def stop() -> None:
        await asyncio.sleep(delay_ms / 1000)
        async with runtime.db.session() as session:
            if by_person:
                await stops.stop_person(
                    session, ws, reason="replied", lead_ids=chosen, now=FIXED_NOW
                )
            else:
                ids = list(
                    (
                        await session.scalars(
                            select(Enrollment.id).where(Enrollment.lead_id.in_(chosen))
                        )
                    ).all()
                )
                await enrollment.stop(session, ws, ids, now=FIXED_NOW)

    await asyncio.gather(
        scheduler.run_until_idle(runtime.db, runtime.settings, now=FIXED_NOW, batch=2),
        stop(),
    )
    for hours in (2, 30, 80):
        await scheduler.run_until_idle(
            runtime.db, runtime.settings, now=FIXED_NOW + timedelta(hours=hours)
        )
    async with runtime.db.session() as session:
        live = await session.scalar(
            select(func.count()).where(Message.lead_id.in_(chosen), Message.status.in_(LIVE))
        )
        states = set(
            (
                await session.scalars(
                    select(Enrollment.state).where(Enrollment.lead_id.in_(chosen))
                )
            ).all()
        )
        others = await session.scalar(
            select(func.count()).where(Message.lead_id.not_in(chosen), Message.status.in_(LIVE))
        )
    assert states == {EnrollmentState.stopped}
    assert live == 0
    assert others == (len(lead_ids) - len(chosen)) * 3
