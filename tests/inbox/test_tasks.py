"""The scheduler defers a sync of each mailbox whose poll interval has passed, once (a waiting
one is not doubled), backs off from a failing one, and the recovery sweep covers every mailbox
that reads replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update

from leadflood.inbox import tasks
from leadflood.inbox.sync import sync_mailbox
from leadflood.models import MailboxFolder
from leadflood.runtime import Runtime
from tests.factories import make_imap_mailbox, make_mailbox, make_workspace
from tests.support.dovecot import DovecotServer
from tests.support.jobs import drain


async def _queued(runtime: Runtime, task: str) -> list[str]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            text("SELECT args->>'mailbox_id' FROM procrastinate_jobs "
                 "WHERE task_name = :t AND status = 'todo'"),
            {"t": task},
        )  # fmt: skip
        return [r[0] for r in rows]


async def test_due_mailboxes_are_synced_once_and_failing_ones_wait_longer(
    runtime: Runtime, dovecot: DovecotServer, imap_user: str
) -> None:
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        mailbox = await make_imap_mailbox(session, workspace.id, dovecot.imap_settings(imap_user))
        await make_mailbox(session, workspace.id, name="Sends only")
    assert await tasks.schedule(runtime) == 1
    assert await tasks.schedule(runtime) == 0  # one is waiting already
    assert await _queued(runtime, "inbox.sync_mailbox") == [str(mailbox.id)]
    await drain(runtime)
    assert await tasks.schedule(runtime) == 0  # synced just now; the next poll is in 60 s
    soon = datetime.now(UTC) + timedelta(seconds=61)
    async with runtime.db.sessions() as session:
        assert await tasks.due_mailboxes(session, runtime, soon) == [mailbox.id]

    async with runtime.db.session() as session:
        await session.execute(
            update(MailboxFolder).where(MailboxFolder.mailbox_id == mailbox.id).values(failures=3)
        )
    async with runtime.db.sessions() as session:
        assert await tasks.due_mailboxes(session, runtime, soon) == []  # waits 60 * 2^3 s
        later = datetime.now(UTC) + timedelta(seconds=481)
        assert await tasks.due_mailboxes(session, runtime, later) == [mailbox.id]

    assert await tasks.recover_all(runtime) == 1
    assert await _queued(runtime, "inbox.recover_mailbox") == [str(mailbox.id)]
    await drain(runtime)
    report = await sync_mailbox(runtime.db, mailbox.id)
    assert report.ok


async def test_the_backlog_job_records_items_left_unprocessed_after_a_failure(
    runtime: Runtime,
) -> None:
    from leadflood.inbox import store
    from leadflood.models import Enrollment, EnrollmentState, InboundItem, MessageStatus
    from tests.factories import (
        make_bare_sequence,
        make_enrollment,
        make_lead,
        queue_message,
        reply_mail,
    )

    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        mailbox = await make_mailbox(session, workspace.id, from_email="sam@sender.example")
        lead = await make_lead(session, workspace.id, email="ada@prospect.example")
        sequence, (step,) = await make_bare_sequence(session, workspace.id)
        enrollment = await make_enrollment(session, workspace.id, sequence.id, lead.id)
        sent = await queue_message(
            session, runtime.settings, mailbox, lead, enrollment=enrollment, step=step
        )
        sent.status, sent.sent_at = MessageStatus.sent, datetime.now(UTC)
        raw = reply_mail(sent.message_id, "Sounds good, let's talk.", sender="ada@prospect.example")
        # Stored, then its processing failed (as a webhook's or a sync's would leave it).
        (item_id,) = await store.store_mail(
            session, workspace.id, [store.RawMail(raw=raw)], source="imap", mailbox_id=mailbox.id
        )
        await store.mark_processed(session, item_id, error="RuntimeError: classifier down")

    assert await tasks.process_backlog(runtime) == 1
    assert await tasks.process_backlog(runtime) == 0
    async with runtime.db.sessions() as session:
        item = await session.get(InboundItem, item_id)
        assert item is not None and item.processed_at is not None and item.process_error is None
        assert item.attempts == 2
        stopped = await session.get(Enrollment, enrollment.id)
        assert stopped is not None and stopped.state == EnrollmentState.stopped


def test_the_backlog_is_processed_every_minute_in_the_worker() -> None:
    from leadflood import jobs

    jobs.app.perform_import_paths()
    periodic = {p.periodic_id: p.cron for p in jobs.app.periodic_registry.periodic_tasks.values()}
    assert periodic["inbox-process-pending"] == "* * * * *"
