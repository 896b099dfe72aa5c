"""Sending one claimed batch, each message marked started (and that mark committed) just before
its own attempt, over one or more connections of the mailbox ("lanes"). A lane records its last
success in the same transaction as its next message's mark, so at any moment only the message in
flight on each lane is in doubt: a worker killed mid-send leaves at most one started message per
connection for the reconciler, and every other claimed message goes back to the queue.

Throughput: the lanes of a back-to-back mailbox share one writer (pipeline.py), so their marks
and records are committed together, and while one lane waits for its mark's commit another is
on the wire. A mailbox with a gap between sends has one lane. A failure is recorded before that
lane's next send. See delivery.py for the job around it and reconcile.py for what a crash leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

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
from leadflood.sending.marks import Marks
from leadflood.sending.pipeline import SessionWrite, Writer
from leadflood.settings import Settings
from leadflood.system import breakers

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
    # Set when the mailbox's circuit breaker is open: nothing was claimed, and the mailbox waits
    # this many seconds (the rest of the cool-down).
    paused: float | None = None


@dataclass(slots=True)
class Sending:
    """The transports of a job: one sender per lane (parallel connection), opened on first
    use, and the wire bytes of claimed messages built ahead of their send."""

    factory: Callable[[], EmailSender]
    rendered: dict[uuid.UUID, bytes]
    senders: list[EmailSender] = field(default_factory=list)
    # Whether the senders render ahead (checked once: a Protocol isinstance is slow).
    renders: bool | None = None
    # The mailbox's circuit breaker: told of every temporary failure, and of the success that
    # follows a failure (a clean breaker costs no write per send).
    gate: breakers.Gate | None = None

    def lane(self, index: int) -> EmailSender:
        while len(self.senders) <= index:
            self.senders.append(self.factory())
        return self.senders[index]

    @property
    def renderer(self) -> RenderingEmailSender | None:
        sender = self.lane(0)
        if self.renders is None:
            self.renders = isinstance(sender, RenderingEmailSender)
        return cast(RenderingEmailSender, sender) if self.renders else None

    async def send(self, index: int, claimed: Claimed, ready: Awaitable[bool]) -> SendResult | None:
        """Attempt `claimed` once `ready` (its start mark) says it may go: None when it may not.
        A sender that renders ahead overlaps the mark with its envelope (nothing is delivered
        before DATA); any other waits for the mark first."""
        sender = self.lane(index)
        data = self.rendered.pop(claimed.id, None)
        if self.renders:  # the wire bytes built ahead, else now (a job's first claim)
            renderer = cast(RenderingEmailSender, sender)
            if data is None:
                data = renderer.render(claimed.outbound)
            return await renderer.send_rendered(claimed.outbound, data, ready=ready)
        if not await ready:
            return None
        return await sender.send(claimed.outbound)

    async def aclose(self) -> None:
        senders, self.senders = self.senders, []
        for sender in senders:
            close = getattr(sender, "aclose", None)
            if close is not None:
                await close()


def lanes(settings: Settings, mailbox: Mailbox) -> int:
    """Parallel connections for a mailbox: back to back, SENDING_CONNECTIONS; with a gap, one
    (its sends are spaced anyway)."""
    return settings.sending_connections if back_to_back(mailbox) else 1


@dataclass
class _Batch:
    """What the lanes of one batch share: the messages not yet taken, and when to stop."""

    todo: deque[Claimed]
    deadline: datetime
    last_attempt: datetime | None
    stop: bool = False


async def send_batch(
    writer: Writer,
    settings: Settings,
    sending: Sending,
    mailbox: Mailbox,
    batch: list[Claimed],
    report: DeliveryReport,
    clock: Clock,
    last_attempt: datetime | None,
    deadline: datetime,
) -> tuple[datetime | None, bool]:
    """Send `batch`; returns (time of the last attempt, whether to stop the job). No attempt
    starts after `deadline`: the rest is queued again."""
    shared = _Batch(deque(batch), deadline, last_attempt)
    try:
        # A probe of a breaker that was open is one call: one lane until it is decided.
        probing = sending.gate is not None and sending.gate.probe
        count = 1 if probing else min(lanes(settings, mailbox), len(batch))
        async with asyncio.TaskGroup() as group:
            for index in range(count):
                group.create_task(
                    _lane(index, writer, settings, sending, mailbox, shared, report, clock)
                )
        return shared.last_attempt, shared.stop
    finally:
        rest = [c.id for c in shared.todo]
        if rest:
            at = clock()

            async def release(session: AsyncSession) -> None:
                await outcomes.release(session, rest, at)

            writer.check()
            await writer.run(release)


async def _lane(
    index: int,
    writer: Writer,
    settings: Settings,
    sending: Sending,
    mailbox: Mailbox,
    shared: _Batch,
    report: DeliveryReport,
    clock: Clock,
) -> None:
    """Take the batch's next message, mark it started (the lane's last success recorded in the
    same commit), attempt it, repeat; then record the last success."""
    marks = Marks(writer.db)
    success: outcomes.Sent | None = None
    broken = True
    try:
        while shared.todo and not shared.stop:
            claimed = shared.todo[0]
            target = claimed.planned_at
            if shared.last_attempt is not None and not back_to_back(mailbox):
                target = max(
                    target, shared.last_attempt + capacity.next_gap(mailbox, str(claimed.id))
                )
            wait = (target - clock()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
                if shared.stop or not shared.todo or shared.todo[0] is not claimed:
                    continue
            if clock() > shared.deadline:
                break
            shared.todo.popleft()
            # A failure of the lane recorded before is committed first (the writer is ordered).
            writer.check()
            mark = asyncio.ensure_future(marks.step(claimed.id, clock(), success))
            previous, success = success, None
            at = shared.last_attempt = clock()
            try:
                # Shielded: the mark also records the previous success, which must not be lost
                # to a cancellation of this send (a sibling lane failing, a shutdown).
                result: SendResult | ProviderError | None = await sending.send(
                    index, claimed, asyncio.shield(mark)
                )
            except ProviderError as exc:  # perhaps refused before the mark was awaited
                result = exc
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.shield(mark)
                raise
            go = await mark  # the previous success is recorded before anything else
            report.sent += previous is not None
            if result is None or not go:
                if isinstance(result, ProviderError):
                    log.info("sending.withdrawn_refused", message=str(claimed.id), code=result.code)
                await writer.run(_withdrawn(claimed.id, clock()))
                report.cancelled += 1
                continue
            if isinstance(result, ProviderError):
                failure = result
                kind = outcomes.classify(settings, failure)
                await writer.run(_failure(settings, mailbox.id, claimed, failure, clock()))
                log.info(
                    "sending.attempt_failed", message=str(claimed.id), kind=kind, code=failure.code
                )
                if count_failure(report, kind, failure):
                    shared.stop = True
                if sending.gate is not None:
                    state = await sending.gate.failure(writer.db.engine, failure)
                    if state == breakers.OPEN:
                        log.warning(
                            "sending.breaker_open", mailbox=str(mailbox.id), code=failure.code
                        )
                        shared.stop = True
                continue
            if sending.gate is not None:
                await sending.gate.success(writer.db.engine)
            success = outcomes.Sent(claimed, result, clock())
            report.last_sent_at = max(report.last_sent_at or at, success.at)
            # The mailbox row first, as claims lock it first: the two never wait in a cycle.
            follow = []
            if not back_to_back(mailbox):
                # With a gap, the next claim plans from the mailbox's last send.
                follow.append(outcomes.mailbox_sent(mailbox.id, success.at))
            if claimed.enrollment_id is not None:
                follow.append(outcomes.enrollment_sent(claimed.enrollment_id, success.at))
            if follow:
                writer.submit(follow)
        await marks.step(None, clock(), success)
        report.sent += success is not None
        broken = False
    finally:
        await marks.aclose(broken=broken)


def _withdrawn(message_id: uuid.UUID, at: datetime) -> SessionWrite:
    async def write(session: AsyncSession) -> None:
        await outcomes.withdraw(session, message_id, at)

    return write


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
