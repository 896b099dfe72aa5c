"""Inbox jobs: syncing a mailbox over IMAP (on its poll interval, on IDLE news, or on demand),
the scheduler that defers the due syncs, and the periodic recovery scan of the recent window.

A sync's or recovery's failure is recorded on the mailbox's folders (shown on its page and by
`leadflood doctor`); the job itself fails only when someone asked for it (sync now), so that a
broken mailbox polled every few minutes does not fill the job list with failures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from procrastinate import JobContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.inbox import process, reclassify, sync
from leadflood.logging import get_logger
from leadflood.mailboxes.imap import RECOVER_TASK, SYNC_TASK
from leadflood.runtime import Runtime

log = get_logger("leadflood.inbox")

# A failing mailbox is tried again after poll * 2^failures seconds, at most this long.
MAX_BACKOFF_SECONDS = 3600

_DUE = text(
    """
    SELECT m.id FROM mailboxes AS m
    LEFT JOIN LATERAL (
        SELECT min(f.last_sync_at) AS last, coalesce(max(f.failures), 0) AS failures
        FROM mailbox_folders AS f WHERE f.mailbox_id = m.id
    ) AS s ON true
    WHERE m.imap IS NOT NULL
      AND (s.last IS NULL OR s.last + make_interval(secs => greatest(
            coalesce((m.imap->>'poll_seconds')::int, :poll),
            least(coalesce((m.imap->>'poll_seconds')::int, :poll) * power(2, least(s.failures, 8)),
                  :max_backoff)
          )) <= :now)
    """
)


class SyncFailed(Exception):
    """A requested sync could not read every folder (the folders say why)."""


async def due_mailboxes(session: AsyncSession, runtime: Runtime, now: datetime) -> list[uuid.UUID]:
    rows = await session.execute(
        _DUE,
        {
            "poll": runtime.settings.imap_poll_seconds,
            "max_backoff": MAX_BACKOFF_SECONDS,
            "now": now,
        },
    )
    return [row[0] for row in rows]


async def _run(runtime: Runtime, mailbox_id: str, *, recovery: bool, report_failure: bool) -> None:
    report = await sync.sync_mailbox(
        runtime.db,
        uuid.UUID(mailbox_id),
        recovery=recovery,
        ingest=process.ingest_imap,
        prepare=process.understand_mail,
    )
    if report.stored or report.recovery:
        log.info("inbox.synced", mailbox=mailbox_id, stored=len(report.stored), recovery=recovery)
    if report_failure and not report.ok:
        raise SyncFailed(
            "; ".join(f"{f.folder}: {f.error}" for f in report.folders if f.error is not None)
        )


@jobs.task(SYNC_TASK)
async def sync_mailbox(
    session: AsyncSession, runtime: Runtime, mailbox_id: str, report_failure: bool = False
) -> None:
    await _run(runtime, mailbox_id, recovery=False, report_failure=report_failure)


@jobs.task(RECOVER_TASK)
async def recover_mailbox(
    session: AsyncSession, runtime: Runtime, mailbox_id: str, report_failure: bool = False
) -> None:
    await _run(runtime, mailbox_id, recovery=True, report_failure=report_failure)


@jobs.app.periodic(cron="* * * * * */15", periodic_id="inbox-schedule")
@jobs.app.task(name="inbox.schedule", pass_context=True, queueing_lock="inbox.schedule")
async def schedule_task(context: JobContext, timestamp: int) -> None:
    runtime: Runtime = context.additional_context["runtime"]
    await schedule(runtime)


async def schedule(runtime: Runtime, now: datetime | None = None) -> int:
    """Defer a sync of each mailbox whose poll interval has passed; how many were deferred."""
    async with runtime.db.sessions() as session:
        due = await due_mailboxes(session, runtime, now or datetime.now(UTC))
    deferred = 0
    for mailbox_id in due:
        if await sync.queue(runtime.db, mailbox_id) is not None:
            deferred += 1
    return deferred


@jobs.app.periodic(cron="23 */6 * * *", periodic_id="inbox-recover")
@jobs.app.task(name="inbox.recover", pass_context=True, queueing_lock="inbox.recover")
async def recover_task(context: JobContext, timestamp: int) -> None:
    runtime: Runtime = context.additional_context["runtime"]
    await recover_all(runtime)


async def recover_all(runtime: Runtime) -> int:
    """Defer the recovery scan of every mailbox that reads replies; how many."""
    async with runtime.db.sessions() as session:
        ids = list(await session.scalars(text("SELECT id FROM mailboxes WHERE imap IS NOT NULL")))
    deferred = 0
    for mailbox_id in ids:
        if await sync.queue(runtime.db, mailbox_id, recovery=True) is not None:
            deferred += 1
    return deferred


@jobs.app.periodic(cron="* * * * *", periodic_id="inbox-process-pending")
@jobs.app.task(
    name="inbox.process_pending", pass_context=True, queueing_lock="inbox.process_pending"
)
async def process_pending_task(context: JobContext, timestamp: int) -> None:
    runtime: Runtime = context.additional_context["runtime"]
    await process_backlog(runtime)


async def process_backlog(runtime: Runtime, *, batch: int = 100, batches: int = 10) -> int:
    """Process stored items left unprocessed (a failed processing, tried again after a fix),
    a batch per transaction, until a batch is not full; how many were recorded."""
    done = 0
    for _ in range(batches):
        async with runtime.db.session() as session:
            recorded = await process.process_pending(session, limit=batch)
        done += recorded
        if recorded < batch:
            break
    if done:
        log.info("inbox.backlog_processed", recorded=done)
    return done


@jobs.task(reclassify.RECLASSIFY_TASK)
async def reclassify_workspace(session: AsyncSession, runtime: Runtime, workspace: str) -> None:
    """Classify the workspace's stored mail again with the current rules (after an upgrade)."""
    done = await reclassify.run(runtime.db, uuid.UUID(workspace), now=datetime.now(UTC))
    log.info("inbox.reclassified", checked=done.checked, changed=done.changed, acted=done.acted)
