from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from leadflood.models import DeliveryAttempt, Mailbox, Message, MessageStatus
from leadflood.providers.email import PostmarkSender
from leadflood.runtime import Runtime
from leadflood.sending import catcher_store, delivery
from leadflood.sending.reconcile import reconcile_stale, settle_orphans
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message
from tests.support.smtp_server import SmtpTestServer


async def _later(runtime: Runtime) -> dict[str, int]:
    later = datetime.now(UTC) + timedelta(seconds=runtime.settings.sending_reconcile_seconds + 1)
    async with runtime.db.session() as session:
        return await reconcile_stale(session, runtime.settings, later)


async def _statuses(runtime: Runtime) -> dict[str, MessageStatus]:
    async with runtime.db.session() as session:
        rows = await session.execute(select(Message.message_id, Message.status))
        return {row[0]: row[1] for row in rows}


async def test_drop_during_data_is_reconciled_by_message_id(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, config=smtp.config()
        )
        lead = await make_lead(session, ws.id)
        message = await queue_message(session, runtime.settings, box, lead)
    smtp.drop_next(stage="DATA")
    report = await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert report.unconfirmed == 1
    assert (await _statuses(runtime))[message.message_id] == MessageStatus.sending
    assert await _later(runtime) == {"absent": 1}
    async with runtime.db.session() as session:
        await session.execute(update(Message).values(send_after=datetime.now(UTC)))
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert [m.message["Message-ID"] for m in smtp.messages] == [message.message_id]
    assert (await _statuses(runtime))[message.message_id] == MessageStatus.sent


async def test_found_at_the_server_is_marked_sent_without_resending(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, config=smtp.config()
        )
        lead = await make_lead(session, ws.id)
        message = await queue_message(session, runtime.settings, box, lead)
        message.status = MessageStatus.sending
        message.attempts = 1
        message.sending_started_at = datetime.now(UTC)
    assert smtp.record_dir is not None
    catcher_store.save(smtp.record_dir, message.message_id, b"Subject: x\r\n\r\nbody\r\n")
    assert await _later(runtime) == {"found": 1}
    assert (await _statuses(runtime))[message.message_id] == MessageStatus.sent
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert smtp.messages == []


async def test_unknowable_smtp_attempt_is_recorded_not_resent(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            config={"host": "127.0.0.1", "port": 1},
        )
        lead = await make_lead(session, ws.id)
        started = await queue_message(session, runtime.settings, box, lead)
        claimed = await queue_message(session, runtime.settings, box, lead)
        for row, at in ((started, datetime.now(UTC)), (claimed, None)):
            row.status, row.attempts, row.sending_started_at = MessageStatus.sending, 1, at
    assert await _later(runtime) == {"unknown": 1, "not_started": 1}
    statuses = await _statuses(runtime)
    assert statuses[started.message_id] == MessageStatus.unconfirmed  # never reported as sent
    assert statuses[claimed.message_id] == MessageStatus.queued
    async with runtime.db.session() as session:
        (attempt,) = await session.scalars(select(DeliveryAttempt))
        row = await session.get(Message, started.id)
        requeued = await session.get(Message, claimed.id)
    assert attempt.classification == "reconciled_unknown"
    assert row is not None and "unconfirmed" in (row.error or "")
    assert requeued is not None and requeued.attempts == 0


async def test_fresh_sending_messages_are_left_alone(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, provider="resend"
        )
        lead = await make_lead(session, ws.id)
        message = await queue_message(session, runtime.settings, box, lead)
        await session.flush()
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(status=MessageStatus.sending, sending_started_at=datetime.now(UTC))
        )
    async with runtime.db.session() as session:
        assert await reconcile_stale(session, runtime.settings, datetime.now(UTC)) == {}
    assert await _later(runtime) == {"idempotent_retry": 1}
    assert (await _statuses(runtime))[message.message_id] == MessageStatus.queued


async def test_demo_catcher_receives_and_answers_the_reconciler(runtime: Runtime) -> None:
    from leadflood.demo import catcher as demo
    from leadflood.sending import catcher_store
    from leadflood.sending.channels.email import reconciler_for

    catcher = demo.DemoSmtpCatcher(catcher_store.demo_inbox(runtime.settings))
    catcher.start()
    try:
        async with runtime.db.session() as session:
            ws = await make_workspace(session, "Acme")
            box = await demo.ensure_demo_mailbox(session, ws.id, catcher.port, catcher.directory)
            again = await demo.ensure_demo_mailbox(session, ws.id, catcher.port, catcher.directory)
            assert again.id == box.id
            lead = await make_lead(session, ws.id)
            message = await queue_message(session, runtime.settings, box, lead)
        report = await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
        assert report.sent == 1 and len(catcher.received()) == 1
        reconciler = reconciler_for(box)
        assert reconciler is not None
        assert await reconciler.was_delivered(message.message_id) is True
        assert await reconciler.was_delivered("<nope@x>") is False
    finally:
        catcher.stop()


async def test_the_next_delivery_settles_a_dead_jobs_messages_at_once(
    runtime: Runtime, smtp: SmtpTestServer
) -> None:
    """No waiting for the periodic sweep: a delivery starting on the mailbox settles what the
    previous (dead) delivery left `sending`: a started one the server has is sent, a started one
    it lacks is queued again and sent, a claimed one never started is sent."""
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, from_email="sam@sender.example", daily_cap=10_000, config=smtp.config()
        )
        lead = await make_lead(session, ws.id)
        arrived = await queue_message(session, runtime.settings, box, lead)
        lost = await queue_message(session, runtime.settings, box, lead)
        unstarted = await queue_message(session, runtime.settings, box, lead)
        now = datetime.now(UTC)
        for row, at in ((arrived, now), (lost, now), (unstarted, None)):
            row.status, row.attempts, row.sending_started_at = MessageStatus.sending, 1, at
    assert smtp.record_dir is not None
    catcher_store.save(smtp.record_dir, arrived.message_id, b"Subject: x\r\n\r\nbody\r\n")
    report = await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert report.sent == 2
    assert sorted(m.message["Message-ID"] for m in smtp.messages) == sorted(
        [lost.message_id, unstarted.message_id]
    )
    assert set((await _statuses(runtime)).values()) == {MessageStatus.sent}


async def test_an_unconfirmed_message_is_never_resent_until_a_person_queues_it(
    client, runtime: Runtime, owner, smtp: SmtpTestServer
) -> None:
    async with runtime.db.session() as session:
        box = await make_mailbox(
            session, owner.workspace_id, from_email="sam@sender.example", config=smtp.config()
        )
        lead = await make_lead(session, owner.workspace_id)
        message = await queue_message(session, runtime.settings, box, lead)
        message.status, message.attempts = MessageStatus.unconfirmed, 1
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert smtp.messages == []
    listed = await client.get("/v1/messages", params={"status": "unconfirmed"})
    assert [m["id"] for m in listed.json()["items"]] == [str(message.id)]

    requeued = await client.post(f"/v1/messages/{message.id}/requeue")
    assert requeued.status_code == 200 and requeued.json()["status"] == "queued"
    again = await client.post(f"/v1/messages/{message.id}/requeue")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "message_not_requeueable"
    await delivery.deliver_mailbox(runtime.db, runtime.settings, box.id)
    assert [m.message["Message-ID"] for m in smtp.messages] == [message.message_id]
    events = (await client.get("/v1/audit-events")).json()["items"]
    assert "message.requeued" in [e["action"] for e in events]


POSTMARK = json.loads(
    (Path(__file__).parents[1] / "providers/email/fixtures/postmark.json").read_text()
)


class PostmarkSearch:
    """Postmark's outbound message search on a mock transport: it has the messages whose ids
    (our metadata) are in `taken`, answers `status` when given another, and records what was
    asked."""

    def __init__(self) -> None:
        self.taken: dict[str, str] = {}
        self.status = 200
        self.asked: list[httpx.Request] = []

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json=POSTMARK["errors"]["server_error"])
        ours = request.url.params.get("metadata_message", "")
        if ours not in self.taken:
            return httpx.Response(200, json=POSTMARK["search_none"])
        found = json.loads(json.dumps(POSTMARK["search_found"]))
        found["Messages"][0] |= {"MessageID": self.taken[ours], "Metadata": {"message": ours}}
        return httpx.Response(200, json=found)

    def transports(self, mailbox: Mailbox, config: dict[str, Any]) -> PostmarkSender:
        return PostmarkSender(
            config["api_key"], transport=httpx.MockTransport(self._handle), rate_per_second=1000
        )


async def _postmark_in_flight(runtime: Runtime, count: int) -> tuple[Mailbox, list[Message]]:
    """Postmark messages whose attempts began now and whose worker died."""
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session, ws.id, provider="postmark", secret="pm-token", daily_cap=10_000
        )
        lead = await make_lead(session, ws.id)
        messages = [await queue_message(session, runtime.settings, box, lead) for _ in range(count)]
        for message in messages:
            message.status, message.attempts = MessageStatus.sending, 1
            message.sending_started_at = datetime.now(UTC)
    return box, messages


async def _settle(runtime: Runtime, box: Mailbox, search: PostmarkSearch, after: timedelta):
    async with runtime.db.session() as session:
        return await settle_orphans(
            session, box.id, datetime.now(UTC) + after, transports=search.transports
        )


async def test_postmark_is_asked_and_settles_a_crashed_attempt_for_certain(
    runtime: Runtime,
) -> None:
    """A message Postmark took is sent, with Postmark's id; one it has not taken is sent again
    once the search has had time to show it, and asked about again until then."""
    box, (taken, lost) = await _postmark_in_flight(runtime, 2)
    search = PostmarkSearch()
    search.taken[str(taken.id)] = "0ac29aee-e1cd-480d-b08d-4f48548ff48d"

    assert await _settle(runtime, box, search, timedelta(seconds=5)) == {
        "found": 1, "pending": 1,
    }  # fmt: skip
    assert search.asked[0].headers["x-postmark-server-token"] == "pm-token"
    assert await _settle(runtime, box, search, timedelta(minutes=3)) == {"pending": 1}
    assert await _settle(runtime, box, search, timedelta(minutes=11)) == {"absent": 1}
    async with runtime.db.session() as session:
        sent = await session.get(Message, taken.id)
        again = await session.get(Message, lost.id)
        attempts = list(await session.scalars(select(DeliveryAttempt.classification)))
    assert sent is not None and sent.status == MessageStatus.sent
    assert sent.provider_message_id == "0ac29aee-e1cd-480d-b08d-4f48548ff48d"
    assert again is not None and again.status == MessageStatus.queued
    assert again.sending_started_at is None
    assert sorted(attempts) == ["reconciled_absent", "reconciled_sent"]


async def test_postmark_that_does_not_answer_is_asked_again_then_left_unconfirmed(
    runtime: Runtime,
) -> None:
    box, (message,) = await _postmark_in_flight(runtime, 1)
    search = PostmarkSearch()
    search.status = 503
    assert await _settle(runtime, box, search, timedelta(minutes=10)) == {"pending": 1}
    async with runtime.db.session() as session:
        row = await session.get(Message, message.id)
        assert row is not None and row.status == MessageStatus.sending
    assert await _settle(runtime, box, search, timedelta(hours=2)) == {"unanswered": 1}
    async with runtime.db.session() as session:
        row = await session.get(Message, message.id)
    assert row is not None and row.status == MessageStatus.unconfirmed
    assert "did not answer" in (row.error or "")


async def test_the_sweep_settles_at_once_a_mailbox_no_delivery_runs_on(runtime: Runtime) -> None:
    """A worker killed mid-batch leaves messages `sending`. The sweep settles them once
    DEAD_AFTER old (not SENDING_RECONCILE_SECONDS) when no delivery holds the mailbox's turn,
    and leaves them to the delivery that holds it."""
    from sqlalchemy import text

    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(session, ws.id, config={"host": "127.0.0.1", "port": 1})
        lead = await make_lead(session, ws.id)
        started = await queue_message(session, runtime.settings, box, lead)
        claimed = await queue_message(session, runtime.settings, box, lead)
        for row, at in ((started, datetime.now(UTC)), (claimed, None)):
            row.status, row.attempts, row.sending_started_at = MessageStatus.sending, 1, at
    key = {"c": delivery._TURN, "m": str(box.id)}
    async with runtime.db.engine.connect() as running:  # a live delivery's turn
        await running.execute(text("SELECT pg_advisory_lock_shared(:c, hashtext(:m))"), key)
        await running.commit()
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert await delivery.settle_dead_deliveries(runtime.db, later) == {}
        await running.execute(text("SELECT pg_advisory_unlock_shared(:c, hashtext(:m))"), key)
        await running.commit()
    assert await delivery.settle_dead_deliveries(runtime.db, datetime.now(UTC)) == {}  # young
    later = datetime.now(UTC) + delivery.DEAD_AFTER + timedelta(seconds=1)
    assert await delivery.settle_dead_deliveries(runtime.db, later) == {
        "unknown": 1, "not_started": 1,
    }  # fmt: skip
    statuses = await _statuses(runtime)
    assert statuses[started.message_id] == MessageStatus.unconfirmed
    assert statuses[claimed.message_id] == MessageStatus.queued


async def test_a_postmark_message_whose_key_cannot_be_read_is_left_unconfirmed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Postmark cannot be asked without the mailbox's key (ENCRYPTION_KEYS lost it): the
    message is `unconfirmed`, and the sweep does not fail."""
    from leadflood.auth.crypto import UndecryptableSecret
    from leadflood.sending.channels import email as channel

    _, (message,) = await _postmark_in_flight(runtime, 1)

    async def unreadable(session: Any, mailbox: Mailbox) -> dict[str, Any]:
        raise UndecryptableSecret("no key of the ring opens it")

    monkeypatch.setattr(channel, "sender_config", unreadable)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await delivery.settle_dead_deliveries(runtime.db, later) == {"unknown": 1}
    assert (await _statuses(runtime))[message.message_id] == MessageStatus.unconfirmed
