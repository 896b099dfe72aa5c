"""Delivery jobs: a dispatcher every five seconds defers one job per mailbox with due messages
(at most one waiting or running per mailbox: one worker sends for a mailbox at a time, many
mailboxes in parallel), and a reconciler every fifteen seconds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import procrastinate
from procrastinate import JobContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.logging import get_logger
from leadflood.runtime import Runtime
from leadflood.sending import delivery
from leadflood.sending.reconcile import reconcile_stale
from leadflood.sending.service import DELIVER, mailbox_lock, without_job

log = get_logger("leadflood.sending")

_DUE_MAILBOXES = text(
    """
    SELECT m.id FROM mailboxes AS m
    WHERE m.state = 'active'
      AND (m.next_send_at IS NULL OR m.next_send_at <= :soon)
      AND EXISTS (
          SELECT 1 FROM messages AS x
          WHERE x.mailbox_id = m.id AND x.status = 'queued' AND x.send_after <= :now
      )
    """
)


async def due_mailboxes(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    rows = await session.execute(_DUE_MAILBOXES, {"now": now, "soon": now + delivery.HORIZON})
    return [row[0] for row in rows]


async def dispatch(app: procrastinate.App, runtime: Runtime, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    async with runtime.db.session() as session:
        mailbox_ids = await without_job(session, await due_mailboxes(session, now))
    for mailbox_id in mailbox_ids:
        # `lock`: one job sends for a mailbox at a time, many mailboxes in parallel.
        await app.configure_task(DELIVER, lock=mailbox_lock(mailbox_id)).defer_async(
            mailbox_id=str(mailbox_id)
        )
    return len(mailbox_ids)


@jobs.app.periodic(cron="* * * * * */5", periodic_id="sending-dispatch")
@jobs.app.task(name="sending.dispatch", pass_context=True, queueing_lock="sending.dispatch")
async def dispatch_task(context: JobContext, timestamp: int) -> None:
    await dispatch(context.app, context.additional_context["runtime"])


# A run cut short by a database outage is retried rather than left failed (the dispatcher would
# start another one anyway; this keeps the queue's record of failures for real ones).
@jobs.app.task(name=DELIVER, pass_context=True, retry=jobs.RetryOutages())
async def deliver_mailbox(context: JobContext, mailbox_id: str) -> None:
    runtime: Runtime = context.additional_context["runtime"]
    report = await delivery.deliver_mailbox(runtime.db, runtime.settings, uuid.UUID(mailbox_id))
    if report.claimed or report.cancelled:
        log.info("sending.delivered", mailbox=mailbox_id, **report.__dict__)


# Every 15 seconds: cheap (a partial index holds only `sending` rows). A mailbox no delivery
# runs on is settled within DEAD_AFTER; the age-based sweep catches what is left (a delivery whose
# connection outlived its worker, say) after SENDING_RECONCILE_SECONDS.
@jobs.app.periodic(cron="* * * * * */15", periodic_id="sending-reconcile")
@jobs.app.task(name="sending.reconcile", pass_context=True, queueing_lock="sending.reconcile")
async def reconcile_task(context: JobContext, timestamp: int) -> None:
    runtime: Runtime = context.additional_context["runtime"]
    try:
        counts = await delivery.settle_dead_deliveries(runtime.db, datetime.now(UTC))
    except Exception:  # the age-based sweep below runs whatever happened here
        log.exception("sending.settle_dead_failed")
        counts = {}
    async with runtime.db.session() as session:
        stale = await reconcile_stale(session, runtime.settings, datetime.now(UTC))
    for decision, count in stale.items():
        counts[decision] = counts.get(decision, 0) + count
    if counts:
        log.warning("sending.reconcile", **counts)
