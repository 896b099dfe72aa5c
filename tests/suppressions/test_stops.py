"""Every stop is a stop: an outcome that ends a person's outreach leaves each of their
enrollments `stopped` with its reason, whatever step it was on, including one the scheduler
already completed when it queued the last step."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Message,
    MessageStatus,
    VerificationStatus,
)
from leadflood.runtime import Runtime
from leadflood.sequences import enrollment, scheduler
from leadflood.sequences.schemas import EnrollRequest
from leadflood.suppressions import stops
from tests.factories import make_lead, make_mailbox, make_sequence, make_workspace
from tests.support.jobs import drain
from tests.support.smtp_server import SmtpTestServer


async def _one_step_enrollment(runtime: Runtime, smtp: SmtpTestServer, email: str) -> None:
    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(session, ws, config=smtp.config())
        lead = await make_lead(
            session, ws, email=email, first_name="Ada", verification_status=VerificationStatus.valid
        )
        sequence = await make_sequence(
            session, ws, mailboxes=[mailbox], step_specs=[(0, "hours", "Hello", "Hi.")], now=now
        )
        await enrollment.enroll(
            session, ws, sequence.id, EnrollRequest(lead_ids=[lead.id]), now=now
        )
    assert (await scheduler.run_until_idle(runtime.db, runtime.settings, now=now)).queued == 1
    async with runtime.db.sessions() as session:
        # Its last (only) step is queued: the scheduler has completed the enrollment.
        assert await session.scalar(select(Enrollment.state)) == EnrollmentState.completed


async def test_a_hard_bounce_on_the_last_step_stops_the_completed_enrollment(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    smtp.reject_recipient("gone@prospect.example")
    await _one_step_enrollment(runtime, smtp, "gone@prospect.example")
    await drain(runtime)
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(Message.status)) == MessageStatus.bounced
        row = (await session.execute(select(Enrollment.state, Enrollment.stop_reason))).one()
    assert tuple(row) == (EnrollmentState.stopped, "bounced")


async def test_an_unsubscribe_after_the_last_step_stops_the_completed_enrollment(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    await _one_step_enrollment(runtime, smtp, "done@prospect.example")
    await drain(runtime)
    async with runtime.db.session() as session:
        assert await session.scalar(select(Message.status)) == MessageStatus.sent
        workspace_id = await session.scalar(select(Enrollment.workspace_id))
        assert workspace_id is not None
        stopped, cancelled = await stops.stop_person(
            session, workspace_id, reason="unsubscribed", emails=["Done@Prospect.example"]
        )
    assert (stopped, cancelled) == (1, 0)
    async with runtime.db.sessions() as session:
        row = (await session.execute(select(Enrollment.state, Enrollment.stop_reason))).one()
    assert tuple(row) == (EnrollmentState.stopped, "unsubscribed")


async def test_a_manual_stop_leaves_a_finished_enrollment_completed(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    await _one_step_enrollment(runtime, smtp, "fine@prospect.example")
    await drain(runtime)
    async with runtime.db.session() as session:
        [enrollment_id] = (await session.scalars(select(Enrollment.id))).all()
        stopped = await stops.stop_enrollments(
            session, Enrollment.id == enrollment_id, "manual", datetime.now(UTC)
        )
    assert stopped == []
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(Enrollment.state)) == EnrollmentState.completed
