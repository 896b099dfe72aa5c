"""Inbound mail through the whole processing: threading to what we sent, classification, effects
in the same transaction, the thread, and idempotence. Personal mail and our own copies are
counted, never stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from leadflood.inbox import process, store
from leadflood.models import (
    DeliveryAttempt,
    Enrollment,
    EnrollmentState,
    InboundItem,
    Message,
    MessageStatus,
    Suppression,
    Thread,
)
from leadflood.runtime import Runtime
from leadflood.sequences import scheduler
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


async def _sent(runtime: Runtime, email: str = "ada@prospect.example") -> tuple:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(session, ws.id, from_email="sam@sender.example")
        lead = await make_lead(session, ws.id, email=email, first_name="Ada")
        sequence, (step,) = await make_bare_sequence(session, ws.id)
        enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
        message = await queue_message(
            session, runtime.settings, box, lead, enrollment=enrollment, step=step
        )
        message.status = MessageStatus.sent
        message.sent_at = NOW
    return ws, box, lead, enrollment, message


def _mail(raw: str) -> store.RawMail:
    return store.RawMail(raw=raw.encode(), folder="INBOX", uidvalidity=1, uid=1, delivered_at=NOW)


def _reply(message_id: str, body: str, *, sender: str = "ada@prospect.example") -> str:
    return (
        f"From: Ada <{sender}>\r\nTo: sam@sender.example\r\nSubject: Re: Quick question\r\n"
        f"Message-ID: <r-{abs(hash(body))}@prospect.example>\r\nIn-Reply-To: {message_id}\r\n"
        f"References: {message_id}\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )


async def _ingest(
    runtime: Runtime, ws_id: object, box_id: object, raw: str
) -> process.IngestReport:
    async with runtime.db.session() as session:
        return await process.ingest(
            session,
            ws_id,
            [_mail(raw)],
            source="imap",
            mailbox_id=box_id,
            now=NOW,  # type: ignore[arg-type]
        )


async def test_a_reply_stops_its_enrollment_and_opens_an_unread_thread(runtime: Runtime) -> None:
    ws, box, lead, enrollment, sent = await _sent(runtime)
    raw = _reply(sent.message_id, "Sounds interesting, can we talk on Thursday?")
    report = await _ingest(runtime, ws.id, box.id, raw)
    assert len(report.stored) == 1
    again = await _ingest(runtime, ws.id, box.id, raw)
    assert (again.stored, again.duplicates) == ([], 1)
    async with runtime.db.session() as session:
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None and row.state == EnrollmentState.stopped
        assert row.stop_reason == "replied"
        (thread,) = (
            await session.scalars(select(Thread).where(Thread.workspace_id == ws.id))
        ).all()
        assert thread.unread and thread.kind == "reply" and thread.label == "interested"
        assert thread.lead_id == lead.id and thread.enrollment_id == enrollment.id
        messages = (
            await session.scalars(select(Message).where(Message.thread_id == thread.id))
        ).all()
        assert {m.direction for m in messages} == {"inbound", "outbound"}
        inbound = next(m for m in messages if m.direction == "inbound")
        assert inbound.classification is not None
        assert inbound.classification["matched_by"] == "message_id"
        assert inbound.classification["version"]
        assert "Enrollment stopped: the lead replied." in inbound.classification["effects"]


async def test_personal_mail_and_our_own_copies_are_not_stored(runtime: Runtime) -> None:
    ws, box, _, _, sent = await _sent(runtime)
    personal = _reply("<nothing@elsewhere.example>", "Dinner tonight?", sender="mum@family.example")
    assert (await _ingest(runtime, ws.id, box.id, personal)).ignored == 1
    own = (
        f"From: sam@sender.example\r\nTo: ada@prospect.example\r\nSubject: Quick question\r\n"
        f"Message-ID: {sent.message_id}\r\n\r\nHi Ada\r\n"
    )
    assert (await _ingest(runtime, ws.id, box.id, own)).own == 1
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboundItem)) == 0


async def test_an_unsubscribe_request_suppresses_and_stops(runtime: Runtime) -> None:
    ws, box, _, enrollment, sent = await _sent(runtime)
    await _ingest(
        runtime, ws.id, box.id, _reply(sent.message_id, "Please remove me from your list.")
    )
    async with runtime.db.session() as session:
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None and row.state == EnrollmentState.stopped
        assert row.stop_reason == "unsubscribed"
        assert (
            await session.scalar(
                select(Suppression.reason).where(
                    Suppression.workspace_id == ws.id, Suppression.value == "ada@prospect.example"
                )
            )
            == "unsubscribed"
        )


async def test_an_out_of_office_pauses_until_the_day_after_its_return(runtime: Runtime) -> None:
    ws, box, _, enrollment, sent = await _sent(runtime)
    raw = _reply(
        sent.message_id,
        "I am out of the office until 14 December 2026 with limited access to email.",
    ).replace("Subject: Re: Quick question", "Subject: Automatic reply: Quick question\r\n"
              "Auto-Submitted: auto-replied")  # fmt: skip
    await _ingest(runtime, ws.id, box.id, raw)
    async with runtime.db.session() as session:
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None and row.state == EnrollmentState.paused
        assert row.stop_reason == "out_of_office"
        assert row.resume_at is not None and row.resume_at.date().isoformat() == "2026-12-15"


async def test_a_hard_bounce_after_acceptance_suppresses_and_marks_the_message(
    runtime: Runtime,
) -> None:
    ws, box, _, enrollment, sent = await _sent(runtime)
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.prospect.example>\r\n"
        "To: sam@sender.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.prospect.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.prospect.example\r\n\r\n"
        "Final-Recipient: rfc822; ada@prospect.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ada@prospect.example>: User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {sent.message_id}\r\nFrom: sam@sender.example\r\n"
        "To: ada@prospect.example\r\nSubject: Quick question\r\n--B--\r\n"
    )
    await _ingest(runtime, ws.id, box.id, dsn)
    async with runtime.db.session() as session:
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None and row.state == EnrollmentState.stopped
        ours = await session.get(Message, sent.id)
        assert ours is not None and ours.status == MessageStatus.bounced
        assert (
            await session.scalar(
                select(Suppression.reason).where(Suppression.value == "ada@prospect.example")
            )
            == "bounced"
        )


async def test_items_stored_but_not_processed_are_processed_later(runtime: Runtime) -> None:
    ws, box, _, enrollment, sent = await _sent(runtime)
    raw = _reply(sent.message_id, "Not interested, thanks.")
    async with runtime.db.session() as session:
        await store.store_mail(session, ws.id, [_mail(raw)], source="imap", mailbox_id=box.id)
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 1
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 0
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None and row.stop_reason == "replied"
        label = await session.scalar(
            select(Message.classification["label"].astext).where(Message.direction == "inbound")
        )
        assert label == "not_interested"


async def test_an_out_of_office_pause_resumes_by_itself_where_it_was(runtime: Runtime) -> None:
    ws, box, _, enrollment, sent = await _sent(runtime)
    raw = _reply(sent.message_id, "I am out of the office until 14 December 2026.").replace(
        "Subject: Re: Quick question", "Subject: Out of office\r\nAuto-Submitted: auto-replied"
    )
    await _ingest(runtime, ws.id, box.id, raw)
    async with runtime.db.session() as session:
        before = await session.get(Enrollment, enrollment.id)
        assert before is not None
        step = before.next_step
        assert await scheduler.resume_due(session, datetime(2026, 12, 14, 12, tzinfo=UTC)) == 0
        assert await scheduler.resume_due(session, datetime(2026, 12, 15, 9, tzinfo=UTC)) == 1
    async with runtime.db.session() as session:
        after = await session.get(Enrollment, enrollment.id)
        assert after is not None and after.state == EnrollmentState.active
        assert (after.next_step, after.resume_at, after.stop_reason) == (step, None, None)


async def test_a_reply_to_an_unconfirmed_message_settles_it_as_sent(runtime: Runtime) -> None:
    """The worker died during the attempt, so the outbox could not tell whether it left; a
    reply that refers to it says it did."""
    ws, box, _, enrollment, sent = await _sent(runtime)
    began = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    async with runtime.db.session() as session:
        row = await session.get(Message, sent.id)
        assert row is not None
        row.status, row.sent_at, row.sending_started_at = MessageStatus.unconfirmed, None, began
        row.error = "unconfirmed: the attempt began but its outcome is unknown"
    await _ingest(runtime, ws.id, box.id, _reply(sent.message_id, "Yes, Thursday works."))
    async with runtime.db.session() as session:
        row = await session.get(Message, sent.id)
        attempts = list(
            await session.scalars(
                select(DeliveryAttempt.classification).where(DeliveryAttempt.message_id == sent.id)
            )
        )
        stopped = await session.get(Enrollment, enrollment.id)
    assert row is not None and row.status == MessageStatus.sent
    assert row.sent_at == began and row.error is None
    assert attempts == ["confirmed_sent"]
    assert stopped is not None and stopped.stop_reason == "replied"
