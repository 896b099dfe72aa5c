"""The delivery claim re-checks the lead's sending window (invariant 4): a message that became due
outside it (a retry's backoff, a cap, a backlog) is not sent but queued again for the window's
next opening, in the lead's zone, falling back to the sequence's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from leadflood.auth.principal import CurrentMember
from leadflood.inbox import service as inbox
from leadflood.inbox.schemas import ReplyRequest
from leadflood.models import DeliveryAttempt, Mailbox, Message, MessageStatus, Role
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_replied_thread,
    make_workspace,
    queue_message,
)
from tests.support.smtp_server import SmtpTestServer

WEEKDAYS_9_TO_5 = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


async def _deliver(runtime: Runtime, box: Mailbox, at: datetime) -> delivery.DeliveryReport:
    return await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id, clock=lambda: at)


async def _row(runtime: Runtime, message: Message) -> Message:
    async with runtime.db.session() as session:
        row = await session.get(Message, message.id)
        assert row is not None
        return row


async def _attempts(runtime: Runtime, message: Message) -> int:
    async with runtime.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(DeliveryAttempt.message_id == message.id)
        )
        return int(count or 0)


async def _queue(
    runtime: Runtime, smtp: SmtpTestServer, zones: list[str | None], send_after: datetime
) -> tuple[Mailbox, list[Message]]:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, config=smtp.config()
        )
        sequence, (step,) = await make_bare_sequence(
            session, ws.id, window=WEEKDAYS_9_TO_5, timezone="Asia/Tokyo"
        )
        messages = []
        for zone in zones:
            lead = await make_lead(session, ws.id, timezone=zone)
            enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
            messages.append(
                await queue_message(
                    session,
                    runtime.settings,
                    box,
                    lead,
                    enrollment=enrollment,
                    step=step,
                    send_after=send_after,
                )
            )
    return box, messages


async def test_a_retry_due_at_night_waits_for_the_next_opening(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # Tuesday 21:59:30 UTC is 16:59:30 in New York: inside the window, for 30 more seconds.
    first = datetime(2025, 1, 14, 21, 59, 30, tzinfo=UTC)
    box, (message,) = await _queue(runtime, smtp, ["America/New_York"], first)
    smtp.fail_next(code=451, text="4.3.0 try again later", stage="DATA")
    report = await _deliver(runtime, box, first)
    assert report.temporary == 1 and not smtp.messages
    retry = (await _row(runtime, message)).send_after
    assert retry == first + timedelta(seconds=runtime.settings.sending_retry_base_seconds)

    # The retry is due at 17:00:30 in New York: after the window closed.
    report = await _deliver(runtime, box, retry)
    assert report.claimed == 0 and not smtp.messages
    row = await _row(runtime, message)
    assert row.status == MessageStatus.queued and row.attempts == 1
    assert "451" in (row.error or "")
    # Wednesday 09:00 in New York (EST, UTC-5), not the sequence's zone (Tokyo, 09:00 = 00:00 UTC).
    opening = datetime(2025, 1, 15, 14, 0, tzinfo=UTC)
    assert row.send_after == opening
    assert await _attempts(runtime, message) == 1

    report = await _deliver(runtime, box, opening)
    assert report.sent == 1 and len(smtp.messages) == 1
    row = await _row(runtime, message)
    assert row.status == MessageStatus.sent and row.attempts == 2 and row.sent_at == opening


async def test_one_claim_judges_each_message_in_its_own_leads_zone(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # Wednesday 01:00 UTC: 10:00 in Tokyo (the sequence's zone), 20:00 on Tuesday in New York,
    # 02:00 in Berlin.
    now = datetime(2025, 1, 15, 1, 0, tzinfo=UTC)
    zones = [None, "Not/AZone", "Asia/Tokyo", "America/New_York", "Europe/Berlin"]
    box, messages = await _queue(runtime, smtp, zones, now - timedelta(hours=3))
    async with runtime.db.session() as session:
        lead = await make_lead(session, box.workspace_id, timezone="America/New_York")
        without_sequence = await queue_message(
            session, runtime.settings, box, lead, send_after=now - timedelta(hours=3)
        )
    report = await _deliver(runtime, box, now)
    assert report.sent == 4 and len(smtp.messages) == 4
    rows = [await _row(runtime, m) for m in [*messages, without_sequence]]
    expected: list[tuple[MessageStatus, Any]] = [
        (MessageStatus.sent, now),  # no zone: the sequence's
        (MessageStatus.sent, now),  # not a zone: the sequence's
        (MessageStatus.sent, now),
        (MessageStatus.queued, datetime(2025, 1, 15, 14, 0, tzinfo=UTC)),
        (MessageStatus.queued, datetime(2025, 1, 15, 8, 0, tzinfo=UTC)),
        (MessageStatus.sent, now),  # a message of no sequence has no window
    ]
    assert [(r.status, r.sent_at or r.send_after) for r in rows] == expected
    assert [r.attempts for r in rows] == [1, 1, 1, 0, 0, 1]


async def test_the_mailbox_sends_only_inside_its_own_window(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # The lead's window is always open; the mailbox's is weekdays 09:00-17:00 in Berlin.
    monday_0730 = datetime(2025, 1, 13, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            config=smtp.config(),
            window=WEEKDAYS_9_TO_5,
            timezone="Europe/Berlin",
        )
        sequence, (step,) = await make_bare_sequence(session, ws.id)
        lead = await make_lead(session, ws.id)
        enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
        message = await queue_message(
            session,
            runtime.settings,
            box,
            lead,
            enrollment=enrollment,
            step=step,
            send_after=monday_0730,
        )

    report = await _deliver(runtime, box, monday_0730)
    assert report.sent == 0 and not smtp.messages
    assert (await _row(runtime, message)).status == MessageStatus.queued
    assert await _attempts(runtime, message) == 0
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, box.id)
    assert mailbox is not None and mailbox.next_send_at == datetime(2025, 1, 13, 8, tzinfo=UTC)

    report = await _deliver(runtime, box, datetime(2025, 1, 13, 8, tzinfo=UTC))
    assert report.sent == 1 and len(smtp.messages) == 1
    assert (await _row(runtime, message)).status == MessageStatus.sent

    # Friday 16:00 UTC is 17:00 in Berlin: closed until Monday 09:00 (08:00 UTC).
    friday_close = datetime(2025, 1, 17, 16, tzinfo=UTC)
    async with runtime.db.session() as session:
        later = await queue_message(
            session,
            runtime.settings,
            box,
            lead,
            step=step,
            send_after=friday_close - timedelta(hours=1),
        )
    report = await _deliver(runtime, box, friday_close)
    assert report.sent == 0 and (await _row(runtime, later)).status == MessageStatus.queued
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, box.id)
    assert mailbox is not None and mailbox.next_send_at == datetime(2025, 1, 20, 8, tzinfo=UTC)


async def test_a_person_s_reply_leaves_outside_the_mailbox_s_window_within_its_cap(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # Monday 07:30 UTC is 08:30 in Berlin: the mailbox's window opens at 09:00.
    monday_0730 = datetime(2025, 1, 13, 7, 30, tzinfo=UTC)
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=3,
            config=smtp.config(),
            window=WEEKDAYS_9_TO_5,
            timezone="Europe/Berlin",
        )
        sequence, (step,) = await make_bare_sequence(session, ws.id)
        ada = await make_lead(session, ws.id, email="ada@prospect.example")
        # Sent today (one of the cap's three) and answered: the answer is no send.
        thread, _ = await make_replied_thread(
            session, runtime.settings, box, ada, sequence=sequence, step=step,
            sent_at=monday_0730 - timedelta(hours=7), replied_at=monday_0730 - timedelta(hours=1),
        )  # fmt: skip
        bob = await make_lead(session, ws.id, email="bob@prospect.example")
        enrollment = await make_enrollment(session, ws.id, sequence.id, bob.id)
        step_message = await queue_message(
            session, runtime.settings, box, bob, enrollment=enrollment, step=step,
            send_after=monday_0730 - timedelta(minutes=5),
        )  # fmt: skip
        me = CurrentMember(workspace=ws, role=Role.owner, via="cli")
        reply = await inbox.reply(
            session, runtime.settings, thread.id, ReplyRequest(body="Thursday works."),
            by=me, now=monday_0730,
        )  # fmt: skip

    report = await _deliver(runtime, box, monday_0730)
    assert report.sent == 1 and [m.rcpt_tos for m in smtp.messages] == [["ada@prospect.example"]]
    assert (await _row(runtime, reply)).status == MessageStatus.sent
    assert (await _row(runtime, step_message)).status == MessageStatus.queued
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, box.id)
        assert mailbox is not None
        mailbox.min_gap_seconds = mailbox.jitter_seconds = 0
        # Sent today: the first email and the reply; one more fits in the cap of three.
        again = [
            await inbox.reply(
                session,
                runtime.settings,
                thread.id,
                ReplyRequest(body=f"PS {n}"),
                by=CurrentMember(workspace=ws, role=Role.owner, via="cli"),
                now=monday_0730,
            )
            for n in (1, 2)
        ]
    report = await _deliver(runtime, box, monday_0730 + timedelta(minutes=5))
    assert report.sent == 1 and len(smtp.messages) == 2
    statuses = [(await _row(runtime, m)).status for m in [*again, step_message]]
    assert statuses == [MessageStatus.sent, MessageStatus.queued, MessageStatus.queued]
    async with runtime.db.session() as session:
        mailbox = await session.get(Mailbox, box.id)
    # The cap waits for the next day in Berlin (23:00 UTC).
    assert mailbox is not None and mailbox.next_send_at == datetime(2025, 1, 13, 23, tzinfo=UTC)
