from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from leadflood.db.engine import Database
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Message,
    MessageStatus,
    SequenceState,
    VerificationStatus,
)
from leadflood.runtime import Runtime
from leadflood.sequences import enrollment, scheduler
from leadflood.sequences import service as sequences
from leadflood.sequences.schemas import EnrollRequest
from leadflood.suppressions import service as suppression
from tests.factories import (
    FIXED_NOW,
    make_lead,
    make_mailbox,
    make_sequence,
    make_workspace,
)

WORKDAYS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


async def _messages(db: Database) -> list[Message]:
    async with db.session() as session:
        rows = await session.scalars(select(Message).order_by(Message.seq))
        return list(rows.all())


async def _enrollments(db: Database) -> list[Enrollment]:
    async with db.session() as session:
        return list((await session.scalars(select(Enrollment))).all())


async def test_a_tick_queues_each_step_then_completes(runtime: Runtime) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws, reply_to="replies@sender.example")
        seq = await make_sequence(session, ws, mailboxes=[mailbox], window=WORKDAYS)
        leads = [
            await make_lead(session, ws, first_name=n, verification_status=VerificationStatus.valid)
            for n in ("Ada", "Bob", None)
        ]
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[x.id for x in leads]), now=FIXED_NOW
        )
    result = await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    assert (result.claimed, result.queued) == (3, 3)
    first = await _messages(db)
    assert sorted(m.subject for m in first) == ["Hello Ada", "Hello Bob", "Hello there"]
    for message in first:
        assert message.status == MessageStatus.queued
        assert message.send_after == FIXED_NOW
        assert message.from_address == mailbox.from_email
        assert message.message_id.endswith("@sender.example>")
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "mailto:replies@sender.example" in message.headers["List-Unsubscribe"]
        assert "Acme Inc, 1 Main Street, Springfield" in message.body_text
        assert "/u/" in message.body_text
    # Step 2 waits 2 business days (Monday 15:00 -> Wednesday 15:00), inside the window.
    wednesday = FIXED_NOW + timedelta(days=2)
    for e in await _enrollments(db):
        assert (e.next_step, e.next_run_at, e.mailbox_id) == (2, wednesday, mailbox.id)
    assert (await scheduler.run_until_idle(db, settings, now=FIXED_NOW)).claimed == 0
    assert (await scheduler.run_until_idle(db, settings, now=wednesday)).queued == 3
    second = [m for m in await _messages(db) if m.id not in {f.id for f in first}]
    by_lead = {m.lead_id: m for m in first}
    for message in second:
        assert message.subject == f"Re: {by_lead[message.lead_id].subject}"
        assert message.in_reply_to == by_lead[message.lead_id].message_id
    assert {e.state for e in await _enrollments(db)} == {EnrollmentState.completed}
    async with db.session() as session:
        stats = await sequences.stats(session, ws, seq.id)
    assert stats.unsent == 6 and not stats.finished


async def test_outside_the_window_only_moves_the_enrollment(runtime: Runtime) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox], window=WORKDAYS)
        tokyo = await make_lead(
            session,
            ws,
            timezone="Asia/Tokyo",
            first_name="Ada",
            verification_status=VerificationStatus.valid,
        )
        unknown_zone = await make_lead(
            session,
            ws,
            timezone="Mars/Olympus",
            first_name="Ada",
            verification_status=VerificationStatus.valid,
        )
        await enrollment.enroll(
            session,
            ws,
            seq.id,
            EnrollRequest(lead_ids=[tokyo.id, unknown_zone.id]),
            now=FIXED_NOW,
        )
    result = await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    assert (result.queued, result.deferred) == (1, 1)
    by_lead = {e.lead_id: e for e in await _enrollments(db)}
    # Monday 15:00 UTC is Tuesday 00:00 in Tokyo: the window opens Tuesday 09:00 JST.
    assert by_lead[tokyo.id].next_run_at == datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
    assert by_lead[tokyo.id].next_step == 1
    [message] = await _messages(db)
    assert message.lead_id == unknown_zone.id  # falls back to the sequence's zone (UTC)


async def test_the_daily_cap_moves_the_rest_to_the_next_day(runtime: Runtime) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws, daily_cap=2, min_gap_seconds=60)
        seq = await make_sequence(session, ws, mailboxes=[mailbox], window=WORKDAYS)
        leads = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(5)
        ]
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[x.id for x in leads]), now=FIXED_NOW
        )
    result = await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    assert (result.queued, result.deferred) == (2, 3)
    sends = sorted(m.send_after for m in await _messages(db))
    assert sends[1] - sends[0] == timedelta(seconds=60)
    waiting = [e for e in await _enrollments(db) if e.next_step == 1]
    assert {e.next_run_at for e in waiting} == {datetime(2025, 3, 4, 9, 0, tzinfo=UTC)}


async def test_rotation_spreads_over_mailboxes_and_follow_ups_stick(runtime: Runtime) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        boxes = [await make_mailbox(session, ws, daily_cap=3, min_gap_seconds=30) for _ in range(2)]
        seq = await make_sequence(session, ws, mailboxes=boxes)
        leads = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(6)
        ]
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[x.id for x in leads]), now=FIXED_NOW
        )
    await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    first = await _messages(db)
    assert sorted(sum(1 for m in first if m.mailbox_id == b.id) for b in boxes) == [3, 3]
    later = FIXED_NOW + timedelta(days=3)
    await scheduler.run_until_idle(db, settings, now=later)
    sender = {m.enrollment_id: m.mailbox_id for m in first}
    for message in await _messages(db):
        assert message.mailbox_id == sender[message.enrollment_id]


async def test_stop_conditions_are_checked_at_the_tick(runtime: Runtime) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        unsubscribed, replied, fine = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(3)
        ]
        await enrollment.enroll(
            session,
            ws,
            seq.id,
            EnrollRequest(lead_ids=[unsubscribed.id, replied.id, fine.id]),
            now=FIXED_NOW,
        )
        await suppression.add(
            session, ws, "email", unsubscribed.email or "", "unsubscribed", "test"
        )
        session.add(
            Message(
                workspace_id=ws,
                lead_id=replied.id,
                direction="inbound",
                status=MessageStatus.sent,
                to_address=mailbox.from_email,
                message_id="<reply@prospect.example>",
                send_after=FIXED_NOW,
            )
        )
    result = await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    assert (result.stopped, result.queued) == (2, 1)
    reasons = {e.lead_id: e.stop_reason for e in await _enrollments(db)}
    assert reasons == {unsubscribed.id: "unsubscribed", replied.id: "replied", fine.id: None}


async def test_pausing_withdraws_unsent_messages_and_resuming_plans_them_again(
    runtime: Runtime,
) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox])
        lead = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[lead.id]), now=FIXED_NOW
        )
    await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    async with db.session() as session:
        await sequences.transition(session, ws, seq.id, SequenceState.paused, now=FIXED_NOW)
    assert await _messages(db) == []
    [e] = await _enrollments(db)
    assert (e.state, e.next_step, e.next_run_at) == (EnrollmentState.active, 1, None)
    assert (await scheduler.run_until_idle(db, settings, now=FIXED_NOW)).claimed == 0
    resumed = FIXED_NOW + timedelta(hours=1)
    async with db.session() as session:
        await sequences.transition(session, ws, seq.id, SequenceState.active, now=resumed)
    assert (await scheduler.run_until_idle(db, settings, now=resumed)).queued == 1


async def test_stopping_a_completed_enrollment_cancels_its_unsent_last_step(
    runtime: Runtime,
) -> None:
    db, settings = runtime.db, runtime.settings
    async with db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws)
        seq = await make_sequence(
            session, ws, mailboxes=[mailbox], step_specs=[(0, "hours", "Only", "One step")]
        )
        lead = await make_lead(
            session, ws, first_name="Ada", verification_status=VerificationStatus.valid
        )
        await enrollment.enroll(
            session, ws, seq.id, EnrollRequest(lead_ids=[lead.id]), now=FIXED_NOW
        )
    await scheduler.run_until_idle(db, settings, now=FIXED_NOW)
    [e] = await _enrollments(db)
    assert e.state == EnrollmentState.completed
    async with db.session() as session:
        assert await enrollment.stop(session, ws, [e.id], now=FIXED_NOW) == 1
    [message] = await _messages(db)
    assert message.status == MessageStatus.cancelled
    [e] = await _enrollments(db)
    assert (e.state, e.stop_reason) == (EnrollmentState.stopped, "manual")
