"""Sending one claimed batch in runs: each run of back-to-back sends is marked started (and
that mark committed) before its first attempt, the next run's mark is written while this one is
on the wire, successes are recorded together without waiting, and a failure is recorded before
the next send. See delivery.py for the job around it and reconcile.py for what a crash leaves.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.logging import get_logger
from leadflood.mailboxes import capacity
from leadflood.models import Mailbox
from leadflood.providers.base import (
    EmailSender,
    ProviderError,
    RenderingEmailSender,
    SendResult,
)
from leadflood.sending import outcomes
from leadflood.sending.claim import Claimed, back_to_back
from leadflood.sending.pipeline import SessionWrite, Writer
from leadflood.settings import Settings

log = get_logger("leadflood.sending")

Clock = Callable[[], datetime]


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


@dataclass(slots=True)
class Sending:
    sender: EmailSender
    rendered: dict[uuid.UUID, bytes]
    # The same sender when it renders ahead (checked once: a Protocol isinstance is slow).
    renderer: RenderingEmailSender | None

    async def send(self, claimed: Claimed) -> SendResult:
        data = self.rendered.pop(claimed.id, None)
        if data is not None and self.renderer is not None:
            return await self.renderer.send_rendered(claimed.outbound, data)
        return await self.sender.send(claimed.outbound)


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


async def send_batch(
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
                stop = count_failure(report, kind, exc)
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


def count_failure(report: DeliveryReport, kind: str, exc: ProviderError) -> bool:
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
