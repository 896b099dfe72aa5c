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
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    InboundItem,
    Message,
    MessageStatus,
    Thread,
)
from leadflood.runtime import Runtime
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
    return ws, box, rows


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
    real = effects.apply

    async def failing(session: Any, workspace_id: Any, target: Any, *args: Any) -> list[str]:
        if target.lead_id == b.id:
            raise RuntimeError("broken rule")
        return await real(session, workspace_id, target, *args)

    monkeypatch.setattr(effects, "apply", failing)
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
    monkeypatch.setattr(effects, "apply", real)
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 1
    assert (await _states(runtime, rows))[1] == (EnrollmentState.stopped, "unsubscribed")
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 0
        count = select(func.count()).select_from(Message).where(Message.direction == "inbound")
        assert await session.scalar(count.where(Message.workspace_id == ws.id)) == 3
