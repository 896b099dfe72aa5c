"""A batch of inbound mail is processed as a set (one statement per step for the batch) with the
same outcome as one message at a time: every reply stops its enrollment, an out-of-office
pauses, personal mail and our own copies are not stored, two answers of one enrollment share a
thread, the same batch twice changes nothing, and one item that fails does not lose the others
(it stays stored with its error and `process_pending` records it later)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from leadflood.inbox import effects, process, store
from leadflood.inbox.rules import Classification
from leadflood.inbox.threading import Target
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    InboundItem,
    Mailbox,
    MailboxState,
    Message,
    MessageStatus,
    Suppression,
    Thread,
)
from leadflood.runtime import Runtime
from leadflood.suppressions import stops
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    make_workspace,
    queue_message,
    reply_mail,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


async def _outreach(runtime: Runtime, leads: int) -> tuple[Any, Any, list[tuple[Any, Any, Any]]]:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, f"Batch {uuid.uuid4().hex[:6]}")
        box = await make_mailbox(session, ws.id, from_email="sam@sender.example")
        rows = await _sent_steps(session, runtime, ws, box, leads)
    return ws, box, rows


async def _sent_steps(
    session: Any, runtime: Runtime, ws: Any, box: Any, leads: int
) -> list[tuple[Any, Any, Any]]:
    """Leads p0…p{leads-1}@prospect.example, each enrolled in a new sequence and sent its step:
    (lead, enrollment, our message) each."""
    sequence, (step,) = await make_bare_sequence(session, ws.id)
    rows = []
    for i in range(leads):
        lead = await make_lead(session, ws.id, email=f"p{i}@prospect.example")
        enrollment = await make_enrollment(session, ws.id, sequence.id, lead.id)
        sent = await queue_message(
            session, runtime.settings, box, lead, enrollment=enrollment, step=step
        )
        sent.status, sent.sent_at = MessageStatus.sent, NOW
        rows.append((lead, enrollment, sent))
    return rows


def _mail(raw: bytes, uid: int) -> store.RawMail:
    return store.RawMail(raw=raw, folder="INBOX", uidvalidity=1, uid=uid, delivered_at=NOW)


def _out_of_office(message_id: str, sender: str) -> bytes:
    return reply_mail(
        message_id,
        "I am out of the office until 14 December 2026 with limited access to email.",
        sender=sender,
        subject="Automatic reply: Quick question\r\nAuto-Submitted: auto-replied",
    )


async def _ingest(runtime: Runtime, ws: Any, box: Any, mails: list[store.RawMail]) -> Any:
    async with runtime.db.session() as session:
        return await process.ingest(
            session, ws.id, mails, source="imap", mailbox_id=box.id, now=NOW
        )


async def _states(runtime: Runtime, rows: list[tuple[Any, Any, Any]]) -> list[tuple[str, Any]]:
    async with runtime.db.session() as session:
        found = []
        for _, enrollment, _ in rows:
            row = await session.get(Enrollment, enrollment.id)
            assert row is not None
            found.append((row.state, row.stop_reason))
        return found


async def test_a_batch_is_recorded_like_one_message_at_a_time(runtime: Runtime) -> None:
    ws, box, rows = await _outreach(runtime, 4)
    (a, _, a_sent), (b, _, b_sent), (c, _, c_sent), (d, _, d_sent) = rows
    mails = [
        _mail(reply_mail(a_sent.message_id, "Sounds interesting, call me.", sender=a.email), 1),
        _mail(reply_mail(b_sent.message_id, "Not interested, thanks.", sender=b.email), 2),
        _mail(_out_of_office(c_sent.message_id, c.email), 3),
        _mail(reply_mail("<x@elsewhere.example>", "Dinner?", sender="mum@family.example"), 6),
        _mail(reply_mail(None, "A copy", sender="sam@sender.example"), 7),
    ]
    report = await _ingest(runtime, ws, box, mails)
    assert (len(report.stored), report.ignored, report.own) == (3, 1, 1)
    # Two answers of one enrollment in one batch: an out-of-office, then a reply.
    both = [
        _mail(_out_of_office(d_sent.message_id, d.email), 4),
        _mail(reply_mail(d_sent.message_id, "Back early: what does it cost?", sender=d.email), 5),
    ]
    assert len((await _ingest(runtime, ws, box, both)).stored) == 2
    assert await _states(runtime, rows) == [
        (EnrollmentState.stopped, "replied"),
        (EnrollmentState.stopped, "replied"),
        (EnrollmentState.paused, "out_of_office"),
        (EnrollmentState.stopped, "replied"),
    ]
    async with runtime.db.session() as session:
        inbound = (
            await session.scalars(
                select(Message).where(Message.workspace_id == ws.id, Message.direction == "inbound")
            )
        ).all()
        assert len(inbound) == 5
        threads = (await session.scalars(select(Thread).where(Thread.workspace_id == ws.id))).all()
        assert len(threads) == 4
        d_thread = next(t for t in threads if t.lead_id == d.id)
        assert {m.thread_id for m in inbound if m.lead_id == d.id} == {d_thread.id}
        assert d_thread.kind == "reply"
        # Our sent messages are attached to their threads.
        ours = await session.get(Message, a_sent.id)
        assert ours is not None and ours.thread_id is not None
        a_reply = next(m for m in inbound if m.lead_id == a.id)
        assert a_reply.classification is not None
        assert "Enrollment stopped: the lead replied." in a_reply.classification["effects"]
    # The same batch again changes nothing.
    again = await _ingest(runtime, ws, box, mails + both)
    assert again.stored == [] and again.duplicates == 5
    async with runtime.db.session() as session:
        count = select(func.count()).select_from(Message).where(Message.direction == "inbound")
        assert await session.scalar(count.where(Message.workspace_id == ws.id)) == 5


async def test_one_failing_item_does_not_lose_the_batch(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, box, rows = await _outreach(runtime, 3)
    (a, _, a_sent), (b, _, b_sent), (c, _, c_sent) = rows
    real = stops.stop_person

    async def failing(session: Any, workspace_id: Any, **kwargs: Any) -> tuple[int, int]:
        if b.id in kwargs.get("lead_ids", ()):
            raise RuntimeError("broken rule")
        return await real(session, workspace_id, **kwargs)

    monkeypatch.setattr(stops, "stop_person", failing)
    mails = [
        _mail(reply_mail(a_sent.message_id, "Interested, let's talk.", sender=a.email), 1),
        _mail(reply_mail(b_sent.message_id, "Please remove me from your list.", sender=b.email), 2),
        _mail(reply_mail(c_sent.message_id, "Not for us, thanks.", sender=c.email), 3),
    ]
    report = await _ingest(runtime, ws, box, mails)
    assert len(report.stored) == 3  # stored raw, all three
    assert await _states(runtime, rows) == [
        (EnrollmentState.stopped, "replied"),
        (EnrollmentState.active, None),
        (EnrollmentState.stopped, "replied"),
    ]
    async with runtime.db.session() as session:
        failed = (
            await session.scalars(
                select(InboundItem).where(
                    InboundItem.workspace_id == ws.id, InboundItem.processed_at.is_(None)
                )
            )
        ).all()
        assert len(failed) == 1
        assert failed[0].process_error == "RuntimeError: broken rule"
    monkeypatch.setattr(stops, "stop_person", real)
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 1
    assert (await _states(runtime, rows))[1] == (EnrollmentState.stopped, "unsubscribed")
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 0
        count = select(func.count()).select_from(Message).where(Message.direction == "inbound")
        assert await session.scalar(count.where(Message.workspace_id == ws.id)) == 3


def _answers(rows: list[tuple[Any, Any, Any]], box: Any) -> list[tuple[Target, Classification]]:
    """One of each answer that stops, suppresses, marks or pauses, in an order where the
    mailbox's bounce rate passes its threshold at the fifth (the second bounce that
    suppresses) and a block comes after that."""

    def on(i: int, matched: str = "in_reply_to") -> Target:
        lead, enrollment, sent = rows[i]
        return Target(lead.id, sent, enrollment.id, box.id, matched)

    def bounce(kind: str, to: str | None) -> Classification:
        return Classification(
            "bounce", bounce_type=kind, recipient=to, status="5.1.1", diagnostic="no such user"
        )  # type: ignore[arg-type]

    return [
        (on(0), Classification("reply", label="interested")),
        (on(1), Classification("unsubscribe")),
        (on(2), bounce("hard", "P2@prospect.example")),
        (on(3), bounce("block", None)),
        (on(4), bounce("soft", "p4@prospect.example")),  # its third within 30 days
        (on(5), bounce("soft", "p5@prospect.example")),  # its first
        (on(6), Classification("complaint")),
        (on(7), Classification("auto_reply", label="out_of_office")),
        (Target(None, None, None, box.id, "recipient"), bounce("block", None)),
    ]


async def _mailbox_with_history(runtime: Runtime) -> tuple[Any, Any, list[tuple[Any, Any, Any]]]:
    """92 earlier sends of which 4 bounced, then 8 leads each sent a step: 100 sends, 4%
    bounced; p4's address soft-bounced twice this month."""
    ws, box, rows = await _outreach(runtime, 0)
    async with runtime.db.session() as session:
        for i in range(92):
            session.add(
                Message(
                    workspace_id=ws.id,
                    mailbox_id=box.id,
                    to_address=f"old{i}@prospect.example",
                    status=MessageStatus.bounced if i < 4 else MessageStatus.sent,
                    send_after=NOW,
                    sent_at=NOW,
                )
            )
        for _ in range(2):
            session.add(
                Message(
                    workspace_id=ws.id,
                    mailbox_id=box.id,
                    direction="inbound",
                    status=MessageStatus.received,
                    to_address="sam@sender.example",
                    send_after=NOW,
                    classification={
                        "kind": "bounce",
                        "bounce_type": "soft",
                        "recipient": "P4@Prospect.example",
                    },
                )
            )
    async with runtime.db.session() as session:
        rows += await _sent_steps(session, runtime, ws, box, 8)
    return ws, box, rows


async def _outcome(runtime: Runtime, ws: Any, box: Any, rows: list[Any]) -> dict[str, Any]:
    async with runtime.db.session() as session:
        ours = [await session.get(Message, sent.id) for _, _, sent in rows]
        mailbox = await session.get(Mailbox, box.id)
        assert mailbox is not None
        suppressed = await session.execute(
            select(Suppression.value, Suppression.reason).where(Suppression.workspace_id == ws.id)
        )
        return {
            "enrollments": await _states(runtime, rows),
            "messages": [(m.status, m.error) for m in ours if m is not None],
            "suppressions": sorted((value, reason) for value, reason in suppressed),
            "mailbox": (mailbox.state, mailbox.last_error),
        }


async def test_stops_of_a_batch_are_those_of_one_answer_at_a_time(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_at_a_time = effects.apply

    async def not_alone(*args: Any) -> list[str]:
        raise AssertionError("the batch was applied one answer at a time")

    outcomes = []
    for together in (True, False):
        ws, box, rows = await _mailbox_with_history(runtime)
        async with runtime.db.session() as session:
            batch = [
                (Target(t.lead_id, await session.get(Message, t.message.id) if t.message else None,
                        t.enrollment_id, t.mailbox_id, t.matched_by), r)
                for t, r in _answers(rows, box)
            ]  # fmt: skip
            if together:
                monkeypatch.setattr(effects, "apply", not_alone)
                said = await effects.apply_many(session, ws.id, batch, NOW)
            else:
                monkeypatch.setattr(effects, "apply", one_at_a_time)
                said = [await effects.apply(session, ws.id, t, r, NOW) for t, r in batch]
        outcomes.append((said, await _outcome(runtime, ws, box, rows)))
    (said, found), (alone_said, alone_found) = outcomes
    assert said == alone_said
    assert found == alone_found
    assert said[1] == [
        "p1@prospect.example suppressed (unsubscribed) on every channel.",
        "1 enrollment(s) stopped.",
    ]
    assert said[2] == ["P2@prospect.example suppressed (bounced).", "1 enrollment(s) stopped."]
    assert said[4] == [
        "p4@prospect.example suppressed (bounced).",
        "1 enrollment(s) stopped.",
        "Mailbox paused itself: 6 of its last 100 sends bounced (over 5%).",
    ]
    assert said[5] == ["Soft bounce 1 of 3 in 30 days."]
    assert said[6] == [
        "p6@prospect.example suppressed (complaint) on every channel.",
        "1 enrollment(s) stopped.",
    ]
    stopped, active = EnrollmentState.stopped, EnrollmentState.active
    assert [s for s, _ in found["enrollments"]] == [
        *(stopped, stopped, stopped, active),
        *(stopped, active, stopped, EnrollmentState.paused),
    ]
    assert [status for status, _ in found["messages"]][2:6] == [
        MessageStatus.bounced, MessageStatus.sent, MessageStatus.bounced, MessageStatus.sent
    ]  # fmt: skip
    state, error = found["mailbox"]
    assert state == MailboxState.paused
    assert error is not None and "a receiver blocked mail" in error
    assert ("p2@prospect.example", "bounced") in found["suppressions"]
    assert ("p6@prospect.example", "complained") in found["suppressions"]


async def test_a_bounce_to_another_answers_lead_is_applied_in_order(runtime: Runtime) -> None:
    """A bounce that names a lead's address without being matched to them, before that lead's
    reply: one at a time, the bounce stops the enrollment and the reply finds it stopped; the
    batch does the same."""
    ws, box, rows = await _outreach(runtime, 1)
    ((lead, enrollment, sent),) = rows
    bounce = Classification(
        "bounce", bounce_type="hard", recipient=lead.email, status="5.1.1", diagnostic="unknown"
    )  # type: ignore[arg-type]
    async with runtime.db.session() as session:
        ours = await session.get(Message, sent.id)
        said = await effects.apply_many(
            session,
            ws.id,
            [
                (Target(None, None, None, box.id, "recipient"), bounce),
                (
                    Target(lead.id, ours, enrollment.id, box.id, "in_reply_to"),
                    Classification("reply", label="interested"),
                ),
            ],
            NOW,
        )
    assert said == [
        ["p0@prospect.example suppressed (bounced).", "1 enrollment(s) stopped."],
        [],
    ]
    assert await _states(runtime, rows) == [(EnrollmentState.stopped, "bounced")]
