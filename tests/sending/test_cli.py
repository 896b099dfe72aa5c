"""`leadflood outbox`: listing messages (the unconfirmed ones with their reason) and queuing one
again once a person knows it did not arrive."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from leadflood.models import AuditEvent, Message, MessageStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead, make_mailbox, queue_message
from tests.support.accounts import Account
from tests.support.processes import run_cli


async def test_unconfirmed_messages_are_listed_with_their_reason_and_queued_again(
    tmp_path: Path, database_url: str, runtime: Runtime, owner: Account
) -> None:
    reason = "unconfirmed: the attempt began but its outcome is unknown"
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id)
        lead = await make_lead(session, owner.workspace_id, email="ada@prospect.example")
        sent = await queue_message(session, runtime.settings, box, lead)
        sent.status = MessageStatus.sent
        doubt = await queue_message(session, runtime.settings, box, lead)
        doubt.status, doubt.attempts, doubt.error = MessageStatus.unconfirmed, 1, reason

    def cli(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        done = run_cli(tmp_path, database_url, "outbox", *args, "--workspace", "Acme")
        assert (done.returncode == 0) is ok, (args, done.stdout, done.stderr)
        return done

    listed = json.loads(cli("list", "--status", "unconfirmed", "--json").stdout)
    assert [m["id"] for m in listed["items"]] == [str(doubt.id)]
    assert listed["items"][0]["error"] == reason and listed["next_cursor"] is None
    table = cli("list", "--status", "unconfirmed").stdout
    assert str(doubt.id) in table and "unconfirmed" in table and str(sent.id) not in table
    assert len(json.loads(cli("list", "--json").stdout)["items"]) == 2
    wrong = cli("list", "--status", "lost", ok=False)
    assert wrong.returncode == 2 and "one of queued" in wrong.stderr

    assert "Queued again" in cli("requeue", str(doubt.id)).stdout
    again = cli("requeue", str(doubt.id), ok=False)
    assert "message_not_requeueable" in again.stderr
    async with runtime.db.session() as session:
        row = await session.get(Message, doubt.id)
        audited = await session.scalar(
            select(AuditEvent.action).where(AuditEvent.action == "message.requeued")
        )
    assert row is not None and row.status == MessageStatus.queued
    assert audited == "message.requeued"
