"""The sending invariants of the scheduler as properties (DESIGN.md, "The sending engine"):
1 no message to a suppressed lead, 2 no step after a stop, 3 at most one message per
(enrollment, step), 4 inside the lead's window in its zone and within each mailbox's daily cap
and gap, also when delivery comes late (retry backoff, caps, backlogs). One database per test;
tables are emptied between examples."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from leadflood.mailboxes import capacity
from leadflood.mailboxes.windows import SendingWindow, is_open, resolve_zone
from leadflood.models import (
    Enrollment,
    Lead,
    Mailbox,
    Message,
    MessageStatus,
    SequenceStep,
    VerificationStatus,
)
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.sequences import enrollment, scheduler
from leadflood.sequences.schemas import EnrollRequest
from leadflood.suppressions import service as suppression
from tests.factories import clean, make_lead, make_mailbox, make_sequence, make_workspace
from tests.support.smtp_server import SmtpTestServer

REAL_ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Sao_Paulo",
]
LEAD_ZONES = [None, "Not/AZone", *REAL_ZONES]
# Around DST changes: US spring forward, EU spring forward, Sydney autumn, EU and US fall back.
CLOCK_STARTS = [
    datetime(2025, 3, 8, 12, tzinfo=UTC),
    datetime(2025, 3, 29, 18, tzinfo=UTC),
    datetime(2025, 4, 5, 10, tzinfo=UTC),
    datetime(2025, 10, 25, 20, tzinfo=UTC),
    datetime(2025, 11, 1, 22, tzinfo=UTC),
]
LIVE = (MessageStatus.queued, MessageStatus.sending, MessageStatus.sent)
PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def windows(draw: Any) -> dict[str, Any]:
    days = sorted(draw(st.sets(st.integers(0, 6), min_size=1)))
    start = draw(st.integers(0, 22))
    end = draw(st.integers(start + 1, 24))
    return {
        "days": days,
        "start": f"{start:02d}:00",
        "end": "23:59:59" if end == 24 else f"{end:02d}:00",
    }


mailbox_specs = st.fixed_dictionaries(
    {
        "daily_cap": st.integers(1, 3),
        "min_gap_seconds": st.sampled_from([0, 0, 60, 600, 3600]),
        "jitter_seconds": st.sampled_from([0, 30, 300]),
        "warmup_enabled": st.booleans(),
        "warmup_start": st.integers(1, 3),
        "timezone": st.sampled_from(REAL_ZONES),
    }
)
# No jitter: delivery runs on a frozen clock, and a jittered slot would be slept for in real time.
delivery_mailbox_specs = st.fixed_dictionaries(
    {
        "daily_cap": st.integers(1, 3),
        "min_gap_seconds": st.sampled_from([0, 0, 60, 3600]),
        "warmup_enabled": st.booleans(),
        "warmup_start": st.integers(1, 3),
        "timezone": st.sampled_from(REAL_ZONES),
    }
)
# A delivery round: how far the clock moves (minutes), the retry delays (minutes) given to the
# queued messages before it, and what the SMTP server answers (a 451 is retried with backoff).
delivery_rounds = st.lists(
    st.tuples(
        st.integers(1, 36 * 60),
        st.lists(st.integers(0, 24 * 60), max_size=6),
        st.lists(st.sampled_from(["250", "451"]), max_size=4),
    ),
    min_size=1,
    max_size=5,
)
step_specs = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["hours", "days", "business_days"])),
    min_size=1,
    max_size=3,
)


@dataclass
class World:
    workspace_id: uuid.UUID
    sequence_id: uuid.UUID
    leads: list[Lead]


async def _build(
    runtime: Runtime,
    *,
    zones: list[str | None],
    window: dict[str, Any],
    sequence_zone: str,
    boxes: list[dict[str, Any]],
    steps: list[tuple[int, str]],
    now: datetime,
) -> World:
    async with runtime.db.session() as session:
        await clean(session)
        ws = (await make_workspace(session)).id
        mailboxes = [await make_mailbox(session, ws, **spec) for spec in boxes]
        seq = await make_sequence(
            session,
            ws,
            mailboxes=mailboxes,
            window=window,
            timezone=sequence_zone,
            step_specs=[
                (a, u, "Hi {{ first_name }}" if i == 0 else "", "Body")
                for i, (a, u) in enumerate(steps)
            ],
            now=now,
        )
        leads = [
            await make_lead(
                session,
                ws,
                timezone=z,
                first_name="Ada",
                verification_status=VerificationStatus.valid,
            )
            for z in zones
        ]
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[x.id for x in leads]), now=now
        )
        return World(ws, seq.id, leads)


async def _live_messages(runtime: Runtime, lead_ids: set[uuid.UUID]) -> int:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Message.id).where(Message.lead_id.in_(lead_ids), Message.status.in_(LIVE))
        )
        return len(rows.all())


async def _check_windows_caps_and_steps(
    runtime: Runtime, world: World, window: SendingWindow, sequence_zone: str
) -> None:
    async with runtime.db.session() as session:
        messages = list((await session.scalars(select(Message))).all())
        leads = {x.id: x for x in (await session.scalars(select(Lead))).all()}
        boxes = {m.id: m for m in (await session.scalars(select(Mailbox))).all()}
        positions = dict(
            list((await session.execute(select(SequenceStep.id, SequenceStep.position))).all())
        )
    per_step = Counter((m.enrollment_id, m.step_id) for m in messages)
    assert max(per_step.values(), default=0) <= 1  # invariant 3
    steps_of: dict[uuid.UUID | None, list[int]] = defaultdict(list)
    per_day: Counter[tuple[uuid.UUID | None, Any]] = Counter()
    sends: dict[uuid.UUID | None, list[datetime]] = defaultdict(list)
    for m in messages:
        lead = leads[m.lead_id]  # type: ignore[index]
        zone = resolve_zone(lead.timezone, sequence_zone)
        assert is_open(window, zone, m.send_after), (m.send_after, lead.timezone)  # invariant 4
        steps_of[m.enrollment_id].append(positions[m.step_id])
        if m.status not in LIVE:
            continue  # a cancelled message never leaves: it uses no capacity
        box = boxes[m.mailbox_id]  # type: ignore[index]
        per_day[(box.id, m.send_after.astimezone(resolve_zone(box.timezone, "UTC")).date())] += 1
        sends[box.id].append(m.send_after)
    for (box_id, day), count in per_day.items():
        assert count <= capacity.cap_on(boxes[box_id], day), (box_id, day, count)  # type: ignore[index]
    for box_id, times in sends.items():
        times.sort()
        gap = timedelta(seconds=boxes[box_id].min_gap_seconds)  # type: ignore[index]
        assert all(b - a >= gap for a, b in itertools.pairwise(times))
    for positions_sent in steps_of.values():
        assert sorted(positions_sent) == list(range(1, len(positions_sent) + 1))


@PROPERTY
@given(
    zones=st.lists(st.sampled_from(LEAD_ZONES), min_size=2, max_size=8),
    window=windows(),
    sequence_zone=st.sampled_from(REAL_ZONES),
    boxes=st.lists(mailbox_specs, min_size=1, max_size=2),
    steps=step_specs,
    start=st.sampled_from(CLOCK_STARTS),
    offset=st.integers(0, 24 * 60),
    advances=st.lists(st.integers(1, 48 * 60), min_size=1, max_size=6),
    suppressed_first=st.sets(st.integers(0, 7), max_size=2),
    later=st.sets(st.integers(0, 7), max_size=2),
    by_domain=st.booleans(),
)
async def test_scheduler_invariants(
    runtime: Runtime,
    zones: list[str | None],
    window: dict[str, Any],
    sequence_zone: str,
    boxes: list[dict[str, Any]],
    steps: list[tuple[int, str]],
    start: datetime,
    offset: int,
    advances: list[int],
    suppressed_first: set[int],
    later: set[int],
    by_domain: bool,
) -> None:
    now = start + timedelta(minutes=offset)
    world = await _build(
        runtime,
        zones=zones,
        window=window,
        sequence_zone=sequence_zone,
        boxes=boxes,
        steps=steps,
        now=now,
    )
    leads = world.leads
    first = {leads[i].id for i in suppressed_first if i < len(leads)}
    async with runtime.db.session() as session:
        for lead in leads:
            if lead.id in first:
                kind, value = (
                    ("domain", f"{lead.id.hex}.example") if by_domain else ("email", lead.email)
                )
                if by_domain:
                    await session.execute(
                        text("UPDATE leads SET email = :e WHERE id = :id"),
                        {"e": f"someone@{value}", "id": lead.id},
                    )
                await suppression.add(
                    session, world.workspace_id, kind, value or "", "do_not_contact", "t"
                )
    stopped: set[uuid.UUID] = set()
    unsubscribed: set[uuid.UUID] = set()
    frozen: dict[uuid.UUID, int] = {}
    for round_no, minutes in enumerate([0, *advances]):
        now += timedelta(minutes=minutes)
        await scheduler.run_until_idle(runtime.db, runtime.settings, now=now, batch=4)
        if round_no == 0:
            chosen = [
                leads[i] for i in sorted(later) if i < len(leads) and leads[i].id not in first
            ]
            async with runtime.db.session() as session:
                for n, lead in enumerate(chosen):
                    if n % 2 == 0:
                        ids = list(
                            (
                                await session.scalars(
                                    select(Enrollment.id).where(Enrollment.lead_id == lead.id)
                                )
                            ).all()
                        )
                        await enrollment.stop(session, world.workspace_id, ids, now=now)
                        stopped.add(lead.id)
                    else:
                        await suppression.add(
                            session,
                            world.workspace_id,
                            "email",
                            lead.email or "",
                            "unsubscribed",
                            "t",
                        )
                        unsubscribed.add(lead.id)
            for lead_id in unsubscribed:
                frozen[lead_id] = await _live_messages(runtime, {lead_id})
    assert await _live_messages(runtime, first) == 0  # invariant 1
    for lead_id, count in frozen.items():
        assert await _live_messages(runtime, {lead_id}) == count  # invariant 1, added later
    assert await _live_messages(runtime, stopped) == 0  # invariant 2
    await _check_windows_caps_and_steps(
        runtime, world, SendingWindow.from_dict(window), sequence_zone
    )


async def _delay_queued(runtime: Runtime, delays: list[int]) -> None:
    """Push queued messages later, as a retry's backoff, a full mailbox or a backlog would."""
    if not delays:
        return
    async with runtime.db.session() as session:
        queued = await session.scalars(
            select(Message).where(Message.status == MessageStatus.queued).order_by(Message.seq)
        )
        for message, minutes in zip(queued.all(), itertools.cycle(delays), strict=False):
            message.send_after += timedelta(minutes=minutes)


@PROPERTY
@given(
    zones=st.lists(st.sampled_from(LEAD_ZONES), min_size=1, max_size=6),
    window=windows(),
    sequence_zone=st.sampled_from(REAL_ZONES),
    boxes=st.lists(delivery_mailbox_specs, min_size=1, max_size=2),
    start=st.sampled_from(CLOCK_STARTS),
    offset=st.integers(0, 24 * 60),
    rounds=delivery_rounds,
)
async def test_delivery_after_retry_delays_never_sends_outside_the_window(
    runtime: Runtime,
    smtp: SmtpTestServer,
    zones: list[str | None],
    window: dict[str, Any],
    sequence_zone: str,
    boxes: list[dict[str, Any]],
    start: datetime,
    offset: int,
    rounds: list[tuple[int, list[int], list[str]]],
) -> None:
    now = start + timedelta(minutes=offset)
    await _build(
        runtime,
        zones=zones,
        window=window,
        sequence_zone=sequence_zone,
        boxes=[spec | {"config": smtp.config()} for spec in boxes],
        steps=[(0, "hours")],
        now=now,
    )
    await scheduler.run_until_idle(runtime.db, runtime.settings, now=now, batch=4)
    async with runtime.db.session() as session:
        mailbox_ids = list((await session.scalars(select(Mailbox.id))).all())
        queued = len((await session.scalars(select(Message.id))).all())
    for minutes, delays, answers in rounds:
        await _delay_queued(runtime, delays)
        now += timedelta(minutes=minutes)
        smtp.clear_plans()
        for answer in answers:
            if answer == "451":
                smtp.fail_next(code=451, text="4.3.0 try again later", stage="DATA")
            else:
                smtp.pass_next(stage="DATA")
        for mailbox_id in mailbox_ids:
            await delivery.deliver_mailbox(
                runtime.db, runtime.settings, mailbox_id, clock=lambda at=now: at
            )
    smtp.clear_plans()
    sending_window = SendingWindow.from_dict(window)
    async with runtime.db.session() as session:
        messages = list((await session.scalars(select(Message))).all())
        leads = {x.id: x for x in (await session.scalars(select(Lead))).all()}
    assert len(messages) == queued
    for m in messages:
        # Held or retried, never dropped or failed.
        assert m.status in (MessageStatus.queued, MessageStatus.sent), (m.status, m.error)
        if m.status == MessageStatus.sent:
            assert m.sent_at is not None
            zone = resolve_zone(leads[m.lead_id].timezone, sequence_zone)  # type: ignore[index]
            assert is_open(sending_window, zone, m.sent_at), (m.sent_at, zone)  # invariant 4
    received = {r.message["Message-ID"] for r in smtp.messages}
    assert received >= {m.message_id for m in messages if m.status == MessageStatus.sent}
