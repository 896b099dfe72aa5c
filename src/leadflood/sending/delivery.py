"""The delivery engine for one mailbox: claim a batch (see claim.py), send it over one
connection respecting the gap between sends, and record the outcomes.

Crash safety (invariant 5): a claimed message is `sending` with `sending_started_at` NULL until
its attempt is about to start; then that time is committed — for one message when a gap
separates sends, for a run of up to GROUP back-to-back messages otherwise. A worker that dies
leaves never-attempted messages (queued again) and started ones, which the reconciler looks up
by Message-ID instead of re-sending; see reconcile.py.

Throughput (back-to-back mailboxes): the database work overlaps the sends. The writer
(pipeline.py) commits the next run's start mark and the last run's successes while the current
run is on the wire, and the next batch is claimed on another connection meanwhile, its messages
rendered one per turn of the event loop (so that work fills the waits for the server instead of
delaying a send). Only what a send depends on is awaited: its run's start mark, and a failure's
record before the next send."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.crypto import UndecryptableSecret
from leadflood.db.engine import Database
from leadflood.logging import get_logger
from leadflood.models import Mailbox
from leadflood.providers.base import (
    EmailSender,
    PermanentProviderError,
    ProviderError,
    RenderingEmailSender,
    SendResult,
)
from leadflood.providers.email import build_email_sender
from leadflood.sending import capacity, outcomes
from leadflood.sending.claim import Claim, Claimed, back_to_back, claim_batch
from leadflood.sending.mailbox_secrets import sender_config
from leadflood.sending.pipeline import SessionWrite, Writer
from leadflood.settings import Settings

log = get_logger("leadflood.sending")

SenderFactory = Callable[[Mailbox, dict[str, Any]], EmailSender]
Clock = Callable[[], datetime]
# A claim plans sends up to this far ahead; the job sleeps between them (the minimum gap).
HORIZON = timedelta(seconds=10)
# One job sends for at most this long, then leaves the rest to the next dispatch.
BUDGET = timedelta(seconds=30)


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4()}@{domain}>"


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_sender(mailbox: Mailbox, config: dict[str, Any]) -> EmailSender:
    return build_email_sender(mailbox.provider, config)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    temporary: int = 0
    bounced: int = 0
    failed: int = 0
    cancelled: int = 0
    unconfirmed: int = 0
    mailbox_error: str | None = None
    last_sent_at: datetime | None = None


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
    report = DeliveryReport()
    sender: EmailSender | None = None
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
            if sender is None:
                try:
                    sender = sender_factory(claim.mailbox, sender_config(settings, claim.mailbox))
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
            renderer = sender if isinstance(sender, RenderingEmailSender) else None
            if back_to_back(claim.mailbox) and clock() - started < budget:
                ahead = asyncio.create_task(claim_ahead(renderer))
            last_attempt, stop = await _send_batch(
                writer,
                settings,
                Sending(sender, rendered, renderer),
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
            if sender is not None:
                close = getattr(sender, "aclose", None)
                if close is not None:
                    await close()
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
        email = claimed.email
        if renderer is not None:
            # A message that cannot be rendered fails again, in its turn, when it is sent.
            with contextlib.suppress(ProviderError):
                into[claimed.id] = renderer.render(email)
        await asyncio.sleep(0)


@dataclass(slots=True)
class Sending:
    sender: EmailSender
    rendered: dict[uuid.UUID, bytes]
    # The same sender when it renders ahead (checked once: a Protocol isinstance is slow).
    renderer: RenderingEmailSender | None

    async def send(self, claimed: Claimed) -> SendResult:
        data = self.rendered.pop(claimed.id, None)
        if data is not None and self.renderer is not None:
            return await self.renderer.send_rendered(claimed.email, data)
        return await self.sender.send(claimed.email)


def _deadline(settings: Settings, claim: Claim, clock: Clock) -> datetime:
    """The last moment to start a claimed batch's next run. A claimed message not yet started
    is `sending` since its claim; once older than SENDING_RECONCILE_SECONDS the reconciler queues
    it again, and another worker may claim it. Stopping a third of the way there (a slow server,
    a long batch) leaves a wide margin, so one message is never in two workers' hands."""
    return (claim.at or clock()) + timedelta(seconds=settings.sending_reconcile_seconds / 3)


# Back-to-back sends are marked started in runs of up to this many, the next run while this
# one is on the wire: a worker killed mid-run leaves at most 2 x GROUP attempts that may or
# may not have happened, for the reconciler.
GROUP = 25


def _group(mailbox: Mailbox, batch: list[Claimed], start: int, now: datetime) -> list[Claimed]:
    group = [batch[start]]
    for claimed in batch[start + 1 : start + GROUP]:
        if claimed.planned_at > now or capacity.next_gap(mailbox, str(claimed.id)):
            break
        group.append(claimed)
    return group


def _mark(writer: Writer, group: list[Claimed], at: datetime) -> asyncio.Future[None]:
    future = writer.submit([outcomes.mark_started([c.id for c in group], at)], wait=True)
    assert future is not None
    return future


async def _send_batch(
    writer: Writer,
    settings: Settings,
    sender: Sending,
    mailbox: Mailbox,
    batch: list[Claimed],
    report: DeliveryReport,
    clock: Clock,
    last_attempt: datetime | None,
    deadline: datetime,
) -> tuple[datetime | None, bool]:
    """Send `batch` in order; returns (time of the last attempt, whether to stop the job).
    No attempt starts after `deadline`: the rest is queued again."""
    done = 0
    marked: tuple[list[Claimed], asyncio.Future[None]] | None = None
    try:
        while done < len(batch):
            if marked is None:
                if clock() > deadline:
                    break
                first = batch[done]
                target = first.planned_at
                if last_attempt is not None:
                    target = max(target, last_attempt + capacity.next_gap(mailbox, str(first.id)))
                wait = (target - clock()).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
                group = _group(mailbox, batch, done, clock())
                marked = (group, _mark(writer, group, clock()))
            group, mark = marked
            await mark
            done += len(group)
            marked = None
            if done < len(batch) and back_to_back(mailbox) and clock() <= deadline:
                following = _group(mailbox, batch, done, clock())
                marked = (following, _mark(writer, following, clock()))
            last_attempt, stop = await _send_group(
                writer, settings, sender, mailbox, group, report, clock
            )
            if stop:
                return last_attempt, True
        return last_attempt, False
    finally:
        await _settle_rest(writer, batch, done, marked, clock)


async def _settle_rest(
    writer: Writer,
    batch: list[Claimed],
    done: int,
    marked: tuple[list[Claimed], asyncio.Future[None]] | None,
    clock: Clock,
) -> None:
    """Give back what this batch will not attempt: a run marked ahead is unstarted (this live
    worker knows it never tried), the rest released."""
    ahead = [c.id for c in marked[0]] if marked is not None else []
    rest = [c.id for c in batch[done + len(ahead) :]]
    if not ahead and not rest:
        return
    at = clock()

    async def write(session: AsyncSession) -> None:
        if ahead:
            await outcomes.unstart(session, ahead, at)
        if rest:
            await outcomes.release(session, rest, at)

    writer.check()
    await writer.run(write)


async def _send_group(
    writer: Writer,
    settings: Settings,
    sender: Sending,
    mailbox: Mailbox,
    group: list[Claimed],
    report: DeliveryReport,
    clock: Clock,
) -> tuple[datetime, bool]:
    """Attempt every message of a started group. Successes are recorded together, without
    waiting; a failure is recorded (after the successes before it) before the next send. After
    a stop, the group's remaining messages are left `sending` and started: the reconciler
    settles them (safe: queued again where the server is known not to have them)."""
    sent: list[outcomes.Sent] = []
    last = clock()
    stop = False
    attempted = 0
    try:
        for claimed in group:
            attempted += 1
            last = clock()
            try:
                result = await sender.send(claimed)
            except ProviderError as exc:
                kind = outcomes.classify(settings, exc)
                writer.submit(outcomes.record_sent(sent, _mailbox_now(mailbox)))
                await writer.run(_failure(settings, mailbox.id, claimed, exc, clock()))
                report.sent += len(sent)
                report.last_sent_at = sent[-1].at if sent else report.last_sent_at
                sent = []
                log.info(
                    "sending.attempt_failed", message=str(claimed.id), kind=kind, code=exc.code
                )
                stop = _count_failure(report, kind, exc)
                if stop:
                    break
                continue
            sent.append(outcomes.Sent(claimed, result, clock()))
    finally:
        if sent:
            writer.submit(outcomes.record_sent(sent, _mailbox_now(mailbox)))
            report.sent += len(sent)
            report.last_sent_at = sent[-1].at
    if stop:
        rest = [c.id for c in group[attempted:]]
        if rest:
            at = clock()

            async def unstart(session: AsyncSession) -> None:
                await outcomes.unstart(session, rest, at)

            await writer.run(unstart)
    return last, stop


def _mailbox_now(mailbox: Mailbox) -> uuid.UUID | None:
    """Whether a run's record updates the mailbox's last send at once: with a gap the next
    claim plans from it; back to back it waits for the end of the job (see record_sent)."""
    return None if back_to_back(mailbox) else mailbox.id


def _failure(
    settings: Settings,
    mailbox_id: uuid.UUID,
    claimed: Claimed,
    error: ProviderError,
    at: datetime,
) -> SessionWrite:
    async def write(session: AsyncSession) -> None:
        await outcomes.lock_mailbox(session, mailbox_id)
        await outcomes.record_failure(session, settings, claimed, error, at, mailbox_id)

    return write


def _count_failure(report: DeliveryReport, kind: str, exc: ProviderError) -> bool:
    """Count the outcome; True when the job should stop sending for this mailbox."""
    if kind == "temporary":
        report.temporary += 1
        return exc.code in outcomes.CONNECTION_CODES
    if kind == outcomes.UNCONFIRMED:
        report.unconfirmed += 1
        return True
    if kind == "mailbox_error":
        report.mailbox_error = str(exc)
        return True
    if kind == "recipient_rejected":
        report.bounced += 1
    else:
        report.failed += 1
    return False


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
