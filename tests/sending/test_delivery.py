from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from leadflood.models import (
    DeliveryAttempt,
    Enrollment,
    EnrollmentState,
    Mailbox,
    MailboxState,
    Message,
    MessageStatus,
)
from leadflood.providers.email import ResendSender
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.suppressions import service as suppression
from leadflood.suppressions import stops
from tests.factories import (
    POSTAL,
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
)
from tests.support.smtp_server import SmtpTestServer


async def _setup(
    runtime: Runtime,
    smtp: SmtpTestServer,
    count: int,
    *,
    daily_cap: int = 10_000,
    **mailbox: object,
) -> tuple:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=daily_cap,
            config=smtp.config(),
            **mailbox,
        )
        sequence, (step,) = await make_bare_sequence(session, ws.id)
        messages = []
        for i in range(count):
            lead = await make_lead(session, ws.id, email=f"lead{i}@example.com", first_name="Ann")
            enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
            messages.append(
                await queue_message(
                    session, runtime.settings, box, lead, enrollment=enrollment, step=step
                )
            )
    return ws, box, messages


async def _messages(runtime: Runtime, box: Mailbox) -> list[Message]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(Message).where(Message.mailbox_id == box.id).order_by(Message.seq)
        )
        return list(rows)


async def _deliver(runtime: Runtime, box: Mailbox, **options: object) -> delivery.DeliveryReport:
    return await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id, **options)  # type: ignore[arg-type]


async def test_sends_a_batch_over_one_connection_with_unsubscribe_headers(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    _, box, queued = await _setup(runtime, smtp, 3)
    one = runtime.settings.model_copy(update={"sending_connections": 1})
    report = await delivery.deliver_mailbox(runtime.db, one, box.id)
    assert (report.claimed, report.sent) == (3, 3)
    assert smtp.connections == 1
    received = {m.message["Message-ID"]: m for m in smtp.messages}
    assert set(received) == {m.message_id for m in queued}
    for item in received.values():
        assert item.message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
        assert "mailto:sam@sender.example?subject=unsubscribe-" in item.message["List-Unsubscribe"]
        assert item.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert POSTAL in item.message.get_content()
    rows = await _messages(runtime, box)
    assert {m.status for m in rows} == {MessageStatus.sent}
    assert all(m.sent_at and m.attempts == 1 and m.provider == "smtp" for m in rows)
    async with runtime.db.session() as session:
        attempts = list(await session.scalars(select(DeliveryAttempt)))
        mailbox = await session.get(Mailbox, box.id)
    assert sorted(a.classification for a in attempts) == ["sent"] * 3
    assert all(a.code == "250" for a in attempts)
    assert mailbox is not None and mailbox.last_sent_at is not None


async def test_a_back_to_back_mailbox_sends_over_its_parallel_connections(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    _, box, queued = await _setup(runtime, smtp, 12)
    three = runtime.settings.model_copy(update={"sending_connections": 3})
    report = await delivery.deliver_mailbox(runtime.db, three, box.id)
    assert (report.claimed, report.sent) == (12, 12)
    assert smtp.connections == 3
    received = [m.message["Message-ID"] for m in smtp.messages]
    assert sorted(received) == sorted(m.message_id for m in queued)
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Message.status, func.count())
                .where(Message.mailbox_id == box.id)
                .group_by(Message.status)
            )
        ).all()
    assert dict(rows) == {MessageStatus.sent: 12}


async def test_adds_unsubscribe_headers_and_footer_when_missing(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, config=smtp.config()
        )
        sequence, (_step,) = await make_bare_sequence(session, ws.id)
        lead = await make_lead(session, ws.id)
        enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
        await queue_message(
            session, runtime.settings, box, lead, enrollment=enrollment, with_unsubscribe=False
        )
    await _deliver(runtime, box)
    (item,) = smtp.messages
    assert item.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in item.message["List-Unsubscribe"]
    assert POSTAL in item.message.get_content()
    (row,) = await _messages(runtime, box)
    assert "List-Unsubscribe" in row.headers and POSTAL in row.body_text


async def test_temporary_failure_is_retried_with_backoff(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    _, box, (_message,) = await _setup(runtime, smtp, 1)
    smtp.fail_next(code=451, text="4.3.0 try again later", stage="DATA")
    before = datetime.now(UTC)
    report = await _deliver(runtime, box)
    assert report.temporary == 1 and not smtp.messages
    (row,) = await _messages(runtime, box)
    assert row.status == MessageStatus.queued and row.attempts == 1
    assert row.send_after >= before + timedelta(seconds=59)
    assert "451" in (row.error or "")
    async with runtime.db.session() as session:
        await session.execute(update(Message).values(send_after=datetime.now(UTC)))
    report = await _deliver(runtime, box)
    assert report.sent == 1 and len(smtp.messages) == 1
    (row,) = await _messages(runtime, box)
    assert row.status == MessageStatus.sent and row.attempts == 2
    async with runtime.db.session() as session:
        kinds = list(
            await session.scalars(
                select(DeliveryAttempt.classification).order_by(DeliveryAttempt.attempt)
            )
        )
    assert kinds == ["temporary", "sent"]


async def test_rejected_recipient_bounces_suppresses_and_stops(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    ws, box, (first, _second) = await _setup(runtime, smtp, 2)
    smtp.reject_recipient("lead0@example.com")
    report = await _deliver(runtime, box)
    assert (report.bounced, report.sent) == (1, 1)
    rows = await _messages(runtime, box)
    assert [r.status for r in rows] == [MessageStatus.bounced, MessageStatus.sent]
    async with runtime.db.session() as session:
        assert await suppression.reason_for(session, ws.id, email="LEAD0@example.com") == "bounced"
        enrollment = await session.get(Enrollment, first.enrollment_id)
        assert enrollment is not None
        assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.stopped, "bounced")


async def test_permanent_failure_fails_and_stops_the_enrollment(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    _, box, (message,) = await _setup(runtime, smtp, 1)
    smtp.fail_next(code=554, text="5.7.1 message refused", stage="DATA")
    report = await _deliver(runtime, box)
    assert report.failed == 1
    (row,) = await _messages(runtime, box)
    assert row.status == MessageStatus.failed and "554" in (row.error or "")
    async with runtime.db.session() as session:
        enrollment = await session.get(Enrollment, message.enrollment_id)
    assert enrollment is not None and enrollment.stop_reason == "failed"


async def test_claim_cancels_suppressed_and_stopped(runtime: Runtime, smtp: SmtpTestServer) -> None:
    _ws, box, (suppressed, stopped, fine) = await _setup(runtime, smtp, 3)
    async with runtime.db.session() as session:
        await suppression.add(session, None, "email", "lead0@example.com", "do_not_contact", "t")
        await session.execute(
            update(Enrollment)
            .where(Enrollment.id == stopped.enrollment_id)
            .values(state=EnrollmentState.stopped, stop_reason="replied")
        )
    report = await _deliver(runtime, box)
    assert (report.cancelled, report.sent) == (2, 1)
    assert [m.message["Message-ID"] for m in smtp.messages] == [fine.message_id]
    rows = {r.id: r for r in await _messages(runtime, box)}
    assert rows[suppressed.id].status == MessageStatus.cancelled
    assert "do_not_contact" in (rows[suppressed.id].error or "")
    assert "replied" in (rows[stopped.id].error or "")


async def test_last_step_of_a_completed_enrollment_is_sent(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # The scheduler marks an enrollment completed as it queues the last step's message.
    _ws, box, (last,) = await _setup(runtime, smtp, 1)
    async with runtime.db.session() as session:
        await session.execute(
            update(Enrollment)
            .where(Enrollment.id == last.enrollment_id)
            .values(state=EnrollmentState.completed, next_run_at=None)
        )
    report = await _deliver(runtime, box)
    assert (report.cancelled, report.sent) == (0, 1)
    assert [m.message["Message-ID"] for m in smtp.messages] == [last.message_id]


async def test_daily_cap_is_never_exceeded(runtime: Runtime, smtp: SmtpTestServer) -> None:
    _, box, _ = await _setup(runtime, smtp, 5, daily_cap=2)
    await _deliver(runtime, box)
    await _deliver(runtime, box)
    assert len(smtp.messages) == 2
    rows = await _messages(runtime, box)
    assert [r.status for r in rows].count(MessageStatus.queued) == 3
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, box.id)
    assert mailbox is not None and mailbox.next_send_at is not None
    assert mailbox.next_send_at > datetime.now(UTC)


async def test_minimum_gap_between_sends(runtime: Runtime, smtp: SmtpTestServer) -> None:
    _, box, _ = await _setup(runtime, smtp, 3, min_gap_seconds=1)
    await _deliver(runtime, box)
    rows = await _messages(runtime, box)
    times = sorted(r.sent_at for r in rows if r.sent_at)
    assert len(times) == 3
    assert all(b - a >= timedelta(seconds=0.95) for a, b in itertools.pairwise(times))


async def test_auth_failure_puts_the_mailbox_in_error_and_keeps_messages(
    runtime: Runtime, tmp_path: object
) -> None:
    with SmtpTestServer(username="u", password="right") as server:
        _, box, _ = await _setup(runtime, server, 2)
        async with runtime.db.session() as session:
            await session.execute(
                update(Mailbox)
                .where(Mailbox.id == box.id)
                .values(config=server.config(password="wrong"))
            )
        report = await _deliver(runtime, box)
    assert report.mailbox_error and report.sent == 0
    rows = await _messages(runtime, box)
    assert {(r.status, r.attempts) for r in rows} == {(MessageStatus.queued, 0)}
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, box.id)
    assert mailbox is not None and mailbox.state == MailboxState.error
    assert "rejected" in (mailbox.last_error or "")


async def test_test_mode_redirects_to_test_recipients(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    runtime.settings.test_mode = True
    runtime.settings.test_recipients = ["qa@leadflood.test", "pm@leadflood.test"]
    try:
        _, box, (_message,) = await _setup(runtime, smtp, 1)
        await _deliver(runtime, box)
    finally:
        runtime.settings.test_mode = False
        runtime.settings.test_recipients = []
    (item,) = smtp.messages
    assert item.rcpt_tos == ["qa@leadflood.test", "pm@leadflood.test"]
    assert item.message["Subject"] == "[TEST → lead0@example.com] Quick question"
    (row,) = await _messages(runtime, box)
    assert row.delivered_to == "qa@leadflood.test, pm@leadflood.test"
    assert row.to_address == "lead0@example.com"


async def test_http_provider_gets_the_message_id_as_idempotency_key(runtime: Runtime) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "re_123"})

    def factory(mailbox: Mailbox, config: dict[str, object]) -> ResendSender:
        assert config["api_key"] == "re_secret"
        return ResendSender(
            str(config["api_key"]), rate_per_second=1000, transport=httpx.MockTransport(handle)
        )

    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            provider="resend",
            secret="re_secret",
            settings=runtime.settings,
        )
        lead = await make_lead(session, ws.id)
        message = await queue_message(session, runtime.settings, box, lead)
    report = await _deliver(runtime, box, sender_factory=factory)
    assert report.sent == 1
    (request,) = seen
    assert request.headers["idempotency-key"] == message.message_id.strip("<>")
    (row,) = await _messages(runtime, box)
    assert row.provider_message_id == "re_123" and row.status == MessageStatus.sent


async def test_a_batch_outliving_its_claim_queues_the_rest_again(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # A slow server: time jumps past a third of SENDING_RECONCILE_SECONDS once 10 messages are
    # in. Claimed messages not yet started must go back to the queue before the reconciler
    # would consider them abandoned and let another worker claim them.
    _, box, queued = await _setup(runtime, smtp, 60)
    late = timedelta(seconds=runtime.settings.sending_reconcile_seconds)

    def clock() -> datetime:
        return datetime.now(UTC) + (late if len(smtp.messages) >= 10 else timedelta(0))

    report = await _deliver(runtime, box, clock=clock)
    rows = await _messages(runtime, box)
    sent = [r for r in rows if r.status == MessageStatus.sent]
    again = [r for r in rows if r.status == MessageStatus.queued]
    assert 10 <= len(sent) < 60 and len(sent) + len(again) == 60
    assert report.sent == len(sent) == len(smtp.messages)
    assert {m.message["Message-ID"] for m in smtp.messages} == {r.message_id for r in sent}
    assert all(r.sending_started_at is None and r.attempts == 0 for r in again)
    assert {r.id for r in rows} == {m.id for m in queued}


async def test_a_step_claimed_before_a_reply_is_not_sent_after_it(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # The reply is recorded (its enrollment stopped) while the batch is on the wire, after the
    # claim: the message of that enrollment is withdrawn at its start mark, never attempted.
    _, box, queued = await _setup(runtime, smtp, 4)
    replied = queued[2]
    real = delivery.default_sender

    class StopsOnFirstSend:
        def __init__(self, inner: object) -> None:
            self.inner = inner
            self.done = False

        async def send(self, email: object) -> object:
            if not self.done:
                self.done = True
                async with runtime.db.session() as session:
                    await stops.stop_enrollment(
                        session, replied.enrollment_id, "replied", datetime.now(UTC)
                    )
            return await self.inner.send(email)  # type: ignore[attr-defined]

    def factory(mailbox: Mailbox, config: dict[str, object]) -> object:
        return StopsOnFirstSend(real(mailbox, config))

    one = runtime.settings.model_copy(update={"sending_connections": 1})
    report = await delivery.deliver_mailbox(runtime.db, one, box.id, sender_factory=factory)  # type: ignore[arg-type]
    assert (report.sent, report.cancelled) == (3, 1)
    assert replied.message_id not in {m.message["Message-ID"] for m in smtp.messages}
    rows = {m.id: m for m in await _messages(runtime, box)}
    assert rows[replied.id].status == MessageStatus.cancelled
    assert "replied" in (rows[replied.id].error or "")


class _Rendering:
    """The real SMTP sender, seen through a wrapper that can act around each send."""

    name = "smtp"

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.sends = 0

    def render(self, email: object) -> bytes:
        return self.inner.render(email)  # type: ignore[attr-defined,no-any-return]

    async def send(self, email: object) -> object:
        return await self.inner.send(email)  # type: ignore[attr-defined]

    async def send_rendered(self, email: object, data: bytes, *, ready: object = None) -> object:
        self.sends += 1
        await self.before(self.sends)
        return await self.inner.send_rendered(email, data, ready=ready)  # type: ignore[attr-defined]

    async def before(self, nth: int) -> None:
        return None

    async def aclose(self) -> None:
        await self.inner.aclose()  # type: ignore[attr-defined]


async def test_a_step_stopped_while_its_envelope_is_on_the_wire_is_reset_before_data(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    """The start mark runs beside MAIL and RCPT: when it finds the enrollment stopped (a reply
    recorded after the claim), the SMTP transaction is reset before DATA and nothing arrives."""
    _, box, queued = await _setup(runtime, smtp, 4)
    replied = queued[2]
    rcpts: list[str] = []
    smtp.answer_recipients(lambda address, nth: rcpts.append(address))  # type: ignore[func-returns-value]

    class StopsDuringTheFirstSend(_Rendering):
        async def before(self, nth: int) -> None:
            if nth == 1:
                async with runtime.db.session() as session:
                    await stops.stop_enrollment(
                        session, replied.enrollment_id, "replied", datetime.now(UTC)
                    )

    def factory(mailbox: Mailbox, config: dict[str, object]) -> object:
        return StopsDuringTheFirstSend(delivery.default_sender(mailbox, config))

    one = runtime.settings.model_copy(update={"sending_connections": 1})
    report = await delivery.deliver_mailbox(runtime.db, one, box.id, sender_factory=factory)  # type: ignore[arg-type]
    assert (report.sent, report.cancelled) == (3, 1)
    assert replied.to_address in rcpts  # its envelope went out beside the mark
    assert replied.message_id not in {m.message["Message-ID"] for m in smtp.messages}
    rows = {m.id: m for m in await _messages(runtime, box)}
    assert rows[replied.id].status == MessageStatus.cancelled
    assert [rows[m.id].status for m in queued if m.id != replied.id] == [MessageStatus.sent] * 3


async def test_a_send_cancelled_mid_envelope_keeps_the_previous_success(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    """The next message's mark also records the previous success: a job cancelled while the
    next envelope is on the wire (a shutdown, a sibling lane failing) still records it, and
    leaves only the message in flight in doubt."""
    _, box, queued = await _setup(runtime, smtp, 3)
    hanging = asyncio.Event()

    class HangsOnTheSecond(_Rendering):
        async def before(self, nth: int) -> None:
            if nth == 2:
                hanging.set()
                await asyncio.sleep(3600)

    def factory(mailbox: Mailbox, config: dict[str, object]) -> object:
        return HangsOnTheSecond(delivery.default_sender(mailbox, config))

    one = runtime.settings.model_copy(update={"sending_connections": 1})
    job = asyncio.create_task(
        delivery.deliver_mailbox(runtime.db, one, box.id, sender_factory=factory)  # type: ignore[arg-type]
    )
    await asyncio.wait_for(hanging.wait(), 30)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    rows = {m.id: m for m in await _messages(runtime, box)}
    first, second, third = (rows[m.id] for m in queued)
    assert [m.message["Message-ID"] for m in smtp.messages] == [queued[0].message_id]
    assert first.status == MessageStatus.sent  # recorded by the second one's mark
    assert second.status == MessageStatus.sending and second.sending_started_at is not None
    assert third.status in (MessageStatus.sending, MessageStatus.queued)
    assert third.sending_started_at is None
