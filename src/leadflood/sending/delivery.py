"""The delivery engine for one mailbox: claim a batch (see claim.py), send it over one
connection respecting the gap between sends (runs.py), and record the outcomes.

Crash safety (invariant 5): a claimed message is `sending` with `sending_started_at` NULL until
its own attempt is about to start; then that time is committed, with the previous success of
its connection (runs.py). A worker that dies leaves never-attempted messages (queued again) and
at most one started message per connection, which the next delivery of the mailbox settles at
once (the server is asked where it can be, else the message is `unconfirmed`, never re-sent
automatically); see reconcile.py.

Throughput (back-to-back mailboxes): SENDING_CONNECTIONS connections send in parallel, their
marks committed together by one writer (pipeline.py), and the next batch is claimed on another
connection meanwhile, its messages rendered one per turn of the event loop (so that work fills
the waits for the server instead of delaying a send)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from leadflood.auth.crypto import UndecryptableSecret
from leadflood.db.engine import Database
from leadflood.logging import get_logger
from leadflood.mailboxes.secrets import sender_config
from leadflood.models import Mailbox, Message, MessageStatus
from leadflood.providers.base import (
    EmailSender,
    PermanentProviderError,
    ProviderError,
    RenderingEmailSender,
)
from leadflood.sending import outcomes, reconcile, runs
from leadflood.sending.channels import channel_of
from leadflood.sending.claim import Claim, Claimed, back_to_back, claim_batch
from leadflood.sending.pipeline import Writer
from leadflood.sending.runs import DeliveryReport
from leadflood.settings import Settings
from leadflood.system import breakers

log = get_logger("leadflood.sending")

SenderFactory = Callable[[Mailbox, dict[str, Any]], EmailSender]
Clock = Callable[[], datetime]
# A claim plans sends up to this far ahead; the job sleeps between them (the minimum gap).
HORIZON = timedelta(seconds=10)
# One job sends for at most this long, then leaves the rest to the next dispatch.
BUDGET = timedelta(seconds=30)


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_sender(mailbox: Mailbox, config: dict[str, Any]) -> EmailSender:
    """The transport of the mailbox's channel (tests pass their own factory)."""
    transport: EmailSender = channel_of(mailbox.channel).transport(mailbox, config)
    return transport


# A mailbox without a gap claims this many times SENDING_BATCH_SIZE at once (at most
# MAX_BURST): its sends go back to back, and each claim costs a few round trips.
BURST = 10
MAX_BURST = 500


async def deliver_mailbox(
    db: Database,
    settings: Settings,
    mailbox_id: uuid.UUID,
    *,
    sender_factory: SenderFactory = default_sender,
    budget: timedelta = BUDGET,
    horizon: timedelta = HORIZON,
    clock: Clock = utcnow,
) -> DeliveryReport:
    try:
        gate = await _breaker(db, settings, mailbox_id, clock())
    except breakers.BreakerOpen as exc:
        return await _paused(db, mailbox_id, exc, clock())
    async with _turn(db, mailbox_id, clock, sender_factory):
        return await _deliver(
            db, settings, mailbox_id, sender_factory=sender_factory, budget=budget,
            horizon=horizon, clock=clock, gate=gate,
        )  # fmt: skip


async def _breaker(
    db: Database, settings: Settings, mailbox_id: uuid.UUID, now: datetime
) -> breakers.Gate | None:
    """Pass the mailbox's circuit breaker (provider + mailbox), or raise BreakerOpen."""
    async with db.sessions() as session:
        provider = await session.scalar(select(Mailbox.provider).where(Mailbox.id == mailbox_id))
    if provider is None:
        return None
    policy = breakers.Policy.of(settings)
    return await breakers.enter(db.engine, provider, str(mailbox_id), policy, now=now)


async def _paused(
    db: Database, mailbox_id: uuid.UUID, exc: breakers.BreakerOpen, now: datetime
) -> DeliveryReport:
    """The breaker is open: claim nothing (no worker waits on a failing provider) and let the
    dispatcher skip the mailbox until the cool-down ends."""
    async with db.session() as session:
        await session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id)
            .values(
                next_send_at=func.greatest(
                    func.coalesce(Mailbox.next_send_at, now),
                    now + timedelta(seconds=exc.retry_after or 0),
                )
            )
        )
    log.info("sending.breaker_paused", mailbox=str(mailbox_id), seconds=exc.retry_after)
    return DeliveryReport(paused=exc.retry_after)


# Advisory lock class of a mailbox's delivery turn (the second key is the mailbox's hash).
_TURN = 0x5E4D


@asynccontextmanager
async def _turn(
    db: Database, mailbox_id: uuid.UUID, clock: Clock, senders: SenderFactory
) -> AsyncIterator[None]:
    """A delivery's turn on its mailbox. One delivery job runs per mailbox at a time (its queue
    lock), but the engine is called directly too, so every delivery holds a shared lock for its
    whole run; one that starts alone (the exclusive lock is free) first settles what a dead
    delivery left `sending` — at once, instead of after the periodic sweep's delay. A killed
    worker's connections close, which releases its locks."""
    key = {"c": _TURN, "m": str(mailbox_id)}
    async with db.engine.connect() as conn:
        await _settle_if_alone(db, conn, mailbox_id, clock(), senders)
        await conn.execute(text("SELECT pg_advisory_lock_shared(:c, hashtext(:m))"), key)
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock_shared(:c, hashtext(:m))"), key)
            await conn.commit()


async def _settle_if_alone(
    db: Database,
    conn: AsyncConnection,
    mailbox_id: uuid.UUID,
    now: datetime,
    senders: SenderFactory | None,
    *,
    older_than: datetime | None = None,
) -> dict[str, int]:
    """Settle what the mailbox has left `sending` when no delivery runs on it (its exclusive
    turn lock is free, and held while settling): those messages belong to a delivery that
    died. Nothing when one runs."""
    key = {"c": _TURN, "m": str(mailbox_id)}
    alone = await conn.scalar(text("SELECT pg_try_advisory_lock(:c, hashtext(:m))"), key)
    await conn.commit()
    if not alone:
        return {}
    try:
        async with db.session() as session:
            settled = await reconcile.settle_orphans(
                session, mailbox_id, now, transports=senders, older_than=older_than
            )
        if settled:
            log.warning("sending.orphans_settled", mailbox=str(mailbox_id), **settled)
        return settled
    finally:
        await conn.execute(text("SELECT pg_advisory_unlock(:c, hashtext(:m))"), key)
        await conn.commit()


# The sweep leaves alone what is younger than this even when no delivery holds the turn: the
# turn lock lives on one pooled connection, and a live delivery whose connection dropped must
# not see its message in flight settled under it.
DEAD_AFTER = timedelta(seconds=30)


async def settle_dead_deliveries(db: Database, now: datetime) -> dict[str, int]:
    """Every mailbox with messages left `sending` while no delivery runs on it is settled:
    a worker killed mid-batch is reconciled at the next sweep (every 15 s) once DEAD_AFTER
    has passed, not SENDING_RECONCILE_SECONDS later. A mailbox that cannot be settled is
    logged and skipped. Counts by decision."""
    async with db.sessions() as session:
        mailbox_ids = [
            mailbox_id
            for mailbox_id in await session.scalars(
                select(Message.mailbox_id).where(Message.status == MessageStatus.sending).distinct()
            )
            if mailbox_id is not None
        ]
    counts: dict[str, int] = {}
    async with db.engine.connect() as conn:
        for mailbox_id in mailbox_ids:
            try:
                settled = await _settle_if_alone(
                    db, conn, mailbox_id, now, None, older_than=now - DEAD_AFTER
                )
            except Exception:
                log.exception("sending.settle_failed", mailbox=str(mailbox_id))
                await conn.rollback()
                continue
            for decision, count in settled.items():
                counts[decision] = counts.get(decision, 0) + count
    return counts


async def _deliver(
    db: Database,
    settings: Settings,
    mailbox_id: uuid.UUID,
    *,
    sender_factory: SenderFactory,
    budget: timedelta,
    horizon: timedelta,
    clock: Clock,
    gate: breakers.Gate | None = None,
) -> DeliveryReport:
    report = DeliveryReport()
    sending: runs.Sending | None = None
    writer = Writer(db)
    started = clock()
    last_attempt: datetime | None = None
    ahead: asyncio.Task[Claim] | None = None
    # Wire bytes of claimed messages, built ahead of their send (SMTP senders).
    rendered: dict[uuid.UUID, bytes] = {}

    async def claim_ahead(renderer: RenderingEmailSender | None) -> Claim:
        claim = await claim_next()
        await _prepare(renderer, claim.messages, rendered)
        return claim

    async def claim_next() -> Claim:
        async with db.session() as session:
            return await claim_batch(
                session,
                settings,
                mailbox_id,
                clock(),
                limit=settings.sending_batch_size,
                burst_limit=min(MAX_BURST, settings.sending_batch_size * BURST),
                horizon=horizon,
            )

    try:
        claim = await claim_next() if budget > timedelta(0) else None
        while claim is not None:
            report.cancelled += claim.cancelled
            if not claim.messages or claim.mailbox is None:
                break
            report.claimed += len(claim.messages)
            if sending is None:
                try:
                    async with db.session() as session:
                        config = await sender_config(session, claim.mailbox)
                    sending = runs.Sending(
                        partial(sender_factory, claim.mailbox, config), rendered, gate=gate
                    )
                    sending.lane(0)
                except (ProviderError, UndecryptableSecret) as exc:
                    error = (
                        exc
                        if isinstance(exc, ProviderError)
                        else PermanentProviderError(
                            "the mailbox's secret cannot be decrypted with ENCRYPTION_KEYS",
                            provider=claim.mailbox.provider,
                            code="provider_not_configured",
                        )
                    )
                    await _mailbox_unusable(
                        db, settings, claim.mailbox, claim.messages, error, clock
                    )
                    report.mailbox_error = str(error)
                    break
            renderer = sending.renderer
            if back_to_back(claim.mailbox) and clock() - started < budget:
                ahead = asyncio.create_task(claim_ahead(renderer))
            last_attempt, stop = await runs.send_batch(
                writer,
                settings,
                sending,
                claim.mailbox,
                claim.messages,
                report,
                clock,
                last_attempt,
                _deadline(settings, claim, clock),
            )
            if stop:
                break
            if ahead is not None:
                claim, ahead = await ahead, None
            elif clock() - started < budget:
                # With a gap, the claim plans from the mailbox's last send: record it first.
                await writer.flush()
                claim = await claim_next()
            else:
                claim = None
    finally:
        try:
            if ahead is not None:
                await _give_back(db, ahead, report, clock)
            if report.last_sent_at is not None and not writer.failed:
                writer.submit([outcomes.mailbox_sent(mailbox_id, report.last_sent_at)])
            await writer.close()
        finally:
            if sending is not None:
                await sending.aclose()
    return report


async def _give_back(
    db: Database, ahead: asyncio.Task[Claim], report: DeliveryReport, clock: Clock
) -> None:
    """Queue again a batch claimed ahead that will not be sent (the job stopped)."""
    claim = await ahead
    report.cancelled += claim.cancelled
    if claim.messages:
        async with db.session() as session:
            await outcomes.release(session, [c.id for c in claim.messages], clock())


async def _prepare(
    renderer: RenderingEmailSender | None, batch: list[Claimed], into: dict[uuid.UUID, bytes]
) -> None:
    """Builds the batch's emails, and their wire bytes when the sender renders them, one
    message per turn of the event loop."""
    for claimed in batch:
        email = claimed.outbound
        if renderer is not None:
            # A message that cannot be rendered fails again, in its turn, when it is sent.
            with contextlib.suppress(ProviderError):
                into[claimed.id] = renderer.render(email)
        await asyncio.sleep(0)


def _deadline(settings: Settings, claim: Claim, clock: Clock) -> datetime:
    """The last moment to start a claimed batch's next run. A claimed message not yet started
    is `sending` since its claim; once older than SENDING_RECONCILE_SECONDS the reconciler queues
    it again, and another worker may claim it. Stopping a third of the way there (a slow server,
    a long batch) leaves a wide margin, so one message is never in two workers' hands."""
    return (claim.at or clock()) + timedelta(seconds=settings.sending_reconcile_seconds / 3)


async def _mailbox_unusable(
    db: Database,
    settings: Settings,
    mailbox: Mailbox,
    batch: list[Claimed],
    error: ProviderError,
    clock: Clock,
) -> None:
    async with db.session() as session:
        await outcomes.release(session, [c.id for c in batch], clock())
        await outcomes.mailbox_failed(session, mailbox.id, str(error))
    log.warning("sending.mailbox_unusable", mailbox=str(mailbox.id), error=str(error))
