from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from leadflood import jobs
from leadflood.models import Message, VerificationStatus
from leadflood.runtime import Runtime
from leadflood.sequences import enrollment, tasks
from leadflood.sequences.schemas import EnrollRequest
from tests.factories import make_lead, make_mailbox, make_sequence, make_workspace
from tests.support.jobs import drain


async def test_the_tick_job_queues_due_messages(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        ws = (await make_workspace(session)).id
        # No SMTP settings: delivery fails, but the scheduler's work is what is checked here.
        mailbox = await make_mailbox(session, ws, state="paused")
        other = await make_mailbox(session, ws)
        seq = await make_sequence(session, ws, mailboxes=[mailbox, other])
        leads = [
            await make_lead(
                session, ws, first_name="Ada", verification_status=VerificationStatus.valid
            )
            for _ in range(3)
        ]
        await enrollment.enroll(
            session,
            ws,
            seq.id,
            EnrollRequest(lead_ids=[x.id for x in leads]),
            now=datetime.now(UTC),
        )
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        await jobs.app.configure_task(
            "sequences.tick", connection=raw.driver_connection, queueing_lock="sequences.tick"
        ).defer_async(timestamp=0)
    await drain(runtime)
    async with runtime.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
        senders = set((await session.scalars(select(Message.mailbox_id))).all())
    assert count == 3
    assert senders == {other.id}  # a paused mailbox gets no new messages


async def test_run_ticks_stops_when_nothing_is_due(runtime: Runtime) -> None:
    result = await tasks.run_ticks(runtime)
    assert result.claimed == 0
