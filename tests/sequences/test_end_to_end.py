"""A lead, a sequence on a mailbox pointing at a real SMTP server, activation, enrollment, the
scheduler tick, the delivery worker: the message arrives with the right headers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from leadflood.models import Enrollment, EnrollmentState, Message, MessageStatus, VerificationStatus
from leadflood.runtime import Runtime
from leadflood.sequences import enrollment, scheduler
from leadflood.sequences.schemas import EnrollRequest
from tests.factories import make_lead, make_mailbox, make_sequence, make_workspace
from tests.support.jobs import drain
from tests.support.smtp_server import SmtpTestServer

POSTAL = "Acme Inc, 1 Main Street, Springfield"


async def test_enrolled_lead_receives_the_first_step(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        ws = (await make_workspace(session)).id
        mailbox = await make_mailbox(
            session,
            ws,
            config=smtp.config(),
            from_email="sam@sender.example",
            reply_to="replies@sender.example",
        )
        lead = await make_lead(
            session,
            ws,
            email="grace@prospect.example",
            first_name="Grace",
            company_name="Navy",
            verification_status=VerificationStatus.valid,
        )
        sequence = await make_sequence(
            session,
            ws,
            mailboxes=[mailbox],
            postal_address=POSTAL,
            step_specs=[
                (
                    0,
                    "hours",
                    "Quick idea for {{ company_name }}",
                    "Hi {{ first_name }},\nShort note.",
                ),
                (3, "business_days", "", "Bumping this up."),
            ],
            now=now,
        )
        result = await enrollment.enroll(
            session, ws, sequence.id, EnrollRequest(lead_ids=[lead.id]), now=now
        )
        assert result.enrolled == 1
    ticked = await scheduler.run_until_idle(runtime.db, runtime.settings, now=now)
    assert ticked.queued == 1
    await drain(runtime)

    [received] = smtp.messages
    email = received.message
    assert received.rcpt_tos == ["grace@prospect.example"]
    assert email["To"] == "grace@prospect.example"
    assert "sam@sender.example" in email["From"]
    assert email["Subject"] == "Quick idea for Navy"
    async with runtime.db.session() as session:
        message = (await session.scalars(select(Message))).one()
        state = await session.scalar(select(Enrollment.state))
    assert message.status == MessageStatus.sent
    assert email["Message-ID"] == message.message_id
    unsubscribe = email["List-Unsubscribe"]
    assert "https://" in unsubscribe or "http://" in unsubscribe
    assert "/u/" in unsubscribe and "mailto:replies@sender.example" in unsubscribe
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Hi Grace," in text and POSTAL in text and "/u/" in text
    assert state == EnrollmentState.active  # the follow-up waits three business days
