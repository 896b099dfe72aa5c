"""The scheduler tick: claim due enrollments, check that each may still go on, and queue its next
message (or move it to when it may).

One tick is one transaction over a batch. Claims go through the partial index
`ix_enrollments_due` with `FOR UPDATE SKIP LOCKED`, so the cost depends on the batch, not on
how many enrollments exist, and many workers tick at once without sharing a row. Every stop
condition is checked in that transaction (a stop racing with a tick waits for the row lock and
then cancels what the tick queued). A message is inserted with ON CONFLICT DO NOTHING on the
unique (enrollment, step): a second run never doubles it.

`next_run_at` is only "look again then": the real due time of a step is recomputed from the
previous message's send time (or the enrollment time) plus the step's delay, then the lead's
window; so parking and resuming never shortens a delay.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from leadflood.logging import get_logger
from leadflood.mailboxes.windows import (
    SendingWindow,
    add_delay,
    is_open,
    next_open,
    resolve_zone,
    window_or_default,
)
from leadflood.models import (
    Company,
    Enrollment,
    EnrollmentState,
    Lead,
    Mailbox,
    SequenceState,
    SequenceStep,
    VerificationStatus,
    sequence_mailboxes,
)
from leadflood.models import Sequence as SequenceRow
from leadflood.sending import service as sending
from leadflood.sequences import rotation
from leadflood.sequences.compose import Previous
from leadflood.sequences.outbox import Outbox
from leadflood.settings import Settings
from leadflood.suppressions import service as suppression
from leadflood.suppressions import stops

log = get_logger("leadflood.sequences.scheduler")

BATCH = 500
NO_MAILBOX_RETRY = timedelta(hours=1)
# Suppression reasons kept as the stop reason; the others read "suppressed".
_OWN_REASONS = frozenset({"unsubscribed", "bounced", "complained"})


@dataclass
class TickResult:
    claimed: int = 0
    queued: int = 0
    deferred: int = 0
    stopped: int = 0
    completed: int = 0
    parked: int = 0

    def add(self, other: TickResult) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def sequence_window(sequence: SequenceRow) -> SendingWindow:
    return window_or_default(sequence.window)


@dataclass
class _Batch:
    """Everything a tick needs about its claimed enrollments, loaded in a few queries."""

    sequences: dict[uuid.UUID, SequenceRow]
    leads: dict[uuid.UUID, Lead]
    companies: dict[uuid.UUID, Company]
    mailboxes_of: dict[uuid.UUID, list[uuid.UUID]]
    plans: dict[uuid.UUID, rotation.MailboxPlan]
    suppressed: dict[uuid.UUID, str]
    previous: dict[uuid.UUID, Previous]
    bounced: set[uuid.UUID]
    replied: set[uuid.UUID]
    done: set[tuple[uuid.UUID, uuid.UUID]]  # (enrollment, step) that already has its message


async def _claim(session: AsyncSession, now: datetime, batch: int) -> list[Enrollment]:
    query = (
        select(Enrollment)
        .where(
            Enrollment.state == EnrollmentState.active,
            Enrollment.next_run_at.is_not(None),
            Enrollment.next_run_at <= now,
        )
        .order_by(Enrollment.next_run_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def _load(session: AsyncSession, claimed: list[Enrollment], now: datetime) -> _Batch:
    sequence_ids = {e.sequence_id for e in claimed}
    enrollment_ids = [e.id for e in claimed]
    lead_ids = list({e.lead_id for e in claimed})
    rows = await session.scalars(
        select(SequenceRow)
        .where(SequenceRow.id.in_(sequence_ids))
        .options(selectinload(SequenceRow.steps).selectinload(SequenceStep.variants))
    )
    seqs = {s.id: s for s in rows.all()}
    leads = {
        lead.id: lead
        for lead in (await session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))).all()
    }
    company_ids = {lead.company_id for lead in leads.values() if lead.company_id}
    companies: dict[uuid.UUID, Company] = {}
    if company_ids:
        found = await session.scalars(select(Company).where(Company.id.in_(company_ids)))
        companies = {c.id: c for c in found.all()}
    active_ids = [s.id for s in seqs.values() if s.state == SequenceState.active]
    mailboxes_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for sequence_id, mailbox_id in (
        await session.execute(
            select(sequence_mailboxes.c.sequence_id, sequence_mailboxes.c.mailbox_id).where(
                sequence_mailboxes.c.sequence_id.in_(active_ids)
            )
        )
    ).all():
        mailboxes_of[sequence_id].append(mailbox_id)
    wanted = {m for ids in mailboxes_of.values() for m in ids}
    wanted |= {e.mailbox_id for e in claimed if e.mailbox_id and e.sequence_id in mailboxes_of}
    mailboxes = list((await session.scalars(select(Mailbox).where(Mailbox.id.in_(wanted)))).all())
    by_workspace: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for e in claimed:
        by_workspace[e.workspace_id].append(e.lead_id)
    suppressed: dict[uuid.UUID, str] = {}
    for workspace_id, ids in by_workspace.items():
        suppressed.update(await suppression.suppressed_lead_ids(session, workspace_id, ids))
    previous: dict[uuid.UUID, Previous] = {}
    bounced: set[uuid.UUID] = set()
    done: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for row in await session.execute(
        text(
            """
            SELECT enrollment_id, step_id, send_after, message_id, subject, status
            FROM messages
            WHERE enrollment_id = ANY(:ids) AND direction = 'outbound'
            ORDER BY enrollment_id, send_after
            """
        ),
        {"ids": enrollment_ids},
    ):
        enrollment_id, step_id, send_after, message_id, subject, status = row
        if step_id is not None:
            done.add((enrollment_id, step_id))
        if status == "bounced":
            bounced.add(enrollment_id)
        if status != "cancelled":
            previous[enrollment_id] = Previous(send_after, message_id, subject)
    replied = set(
        (
            await session.scalars(
                text(
                    "SELECT DISTINCT lead_id FROM messages "
                    "WHERE lead_id = ANY(:ids) AND direction = 'inbound'"
                ),
                {"ids": lead_ids},
            )
        ).all()
    )
    plans = await rotation.plans(session, mailboxes, now)
    return _Batch(
        seqs, leads, companies, mailboxes_of, plans, suppressed, previous, bounced, replied, done
    )


def _stop_reason(batch: _Batch, enrollment: Enrollment, sequence: SequenceRow) -> str | None:
    if sequence.state == SequenceState.archived:
        return "sequence_archived"
    lead = batch.leads.get(enrollment.lead_id)
    if lead is None:
        return "lead_deleted"
    reason = batch.suppressed.get(lead.id)
    if reason is not None:
        return reason if reason in _OWN_REASONS else "suppressed"
    if not (lead.email or "").strip() or lead.verification_status == VerificationStatus.invalid:
        return "invalid"
    rules = sequence.stop_rules or {}
    if enrollment.id in batch.bounced and rules.get("on_bounce", True):
        return "bounced"
    if lead.id in batch.replied and rules.get("on_reply", True):
        return "replied"
    return None


class _Plan:
    """The new values of each claimed enrollment, written in one executemany at the end."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.stopped: list[uuid.UUID] = []
        self.result = TickResult()

    def _row(self, e: Enrollment, **changes: Any) -> None:
        row = {
            "b_id": e.id,
            "state": e.state,
            "next_step": e.next_step,
            "next_run_at": e.next_run_at,
            "mailbox_id": e.mailbox_id,
            "stop_reason": e.stop_reason,
            "stopped_at": e.stopped_at,
        }
        row.update(changes)
        self.rows.append(row)

    def stop(self, e: Enrollment, reason: str, now: datetime) -> None:
        self._row(
            e, state=EnrollmentState.stopped, stop_reason=reason, stopped_at=now, next_run_at=None
        )
        self.stopped.append(e.id)
        self.result.stopped += 1

    def park(self, e: Enrollment) -> None:
        self._row(e, next_run_at=None)
        self.result.parked += 1

    def defer(self, e: Enrollment, at: datetime) -> None:
        self._row(e, next_run_at=at)
        self.result.deferred += 1

    def pause(self, e: Enrollment, reason: str) -> None:
        self._row(e, state=EnrollmentState.paused, stop_reason=reason, next_run_at=None)

    def advance(
        self, e: Enrollment, *, step: int, at: datetime | None, mailbox_id: uuid.UUID
    ) -> None:
        if at is None:
            self._row(e, state=EnrollmentState.completed, next_run_at=None, mailbox_id=mailbox_id)
            self.result.completed += 1
        else:
            self._row(e, next_step=step, next_run_at=at, mailbox_id=mailbox_id)


async def resume_due(session: AsyncSession, now: datetime) -> int:
    """Enrollments whose pause ends by itself (an out-of-office until its return date) resume
    where they were: the step they were waiting for is looked at now."""
    resumed = await session.execute(
        update(Enrollment)
        .where(
            Enrollment.resume_at.is_not(None),
            Enrollment.resume_at <= now,
            Enrollment.state == EnrollmentState.paused,
        )
        .values(
            state=EnrollmentState.active,
            stop_reason=None,
            resume_at=None,
            next_run_at=func.greatest(func.coalesce(Enrollment.next_run_at, now), now),
            updated_at=now,
        )
        .returning(Enrollment.id)
        .execution_options(synchronize_session=False)
    )
    return len(resumed.all())


async def tick(
    session: AsyncSession,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
) -> TickResult:
    now = now or datetime.now(UTC)
    await resume_due(session, now)
    claimed = await _claim(session, now, batch)
    if not claimed:
        return TickResult()
    loaded = await _load(session, claimed, now)
    plan = _Plan()
    outbox = Outbox(session, settings)
    for enrollment in claimed:
        await _decide(enrollment, loaded, plan, outbox, now)
    mailbox_ids = outbox.mailbox_ids()
    inserted = await outbox.flush()
    for mailbox_id in sorted(mailbox_ids):
        # Delivery starts without waiting for its dispatcher (deferred in this transaction).
        await sending.kick(session, mailbox_id)
    if plan.rows:
        table = cast(Table, Enrollment.__table__)
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                state=bindparam("state"),
                next_step=bindparam("next_step"),
                next_run_at=bindparam("next_run_at"),
                mailbox_id=bindparam("mailbox_id"),
                stop_reason=bindparam("stop_reason"),
                stopped_at=bindparam("stopped_at"),
                updated_at=now,
            ),
            plan.rows,
        )
    await stops.cancel_queued(session, plan.stopped)
    plan.result.claimed = len(claimed)
    plan.result.queued = inserted
    return plan.result


async def _decide(e: Enrollment, batch: _Batch, plan: _Plan, outbox: Outbox, now: datetime) -> None:
    sequence = batch.sequences[e.sequence_id]
    reason = _stop_reason(batch, e, sequence)
    if reason is not None:
        plan.stop(e, reason, now)
        return
    if sequence.state != SequenceState.active:
        plan.park(e)
        return
    lead = batch.leads[e.lead_id]
    steps = {s.position: s for s in sequence.steps}
    step = steps.get(e.next_step)
    if step is None:
        plan.advance(e, step=e.next_step, at=None, mailbox_id=e.mailbox_id)  # type: ignore[arg-type]
        return
    if (e.id, step.id) in batch.done:
        # Already recorded (the plan was rewound): go on with the next step, looked at now.
        plan.advance(e, step=step.position + 1, at=now, mailbox_id=e.mailbox_id)  # type: ignore[arg-type]
        return
    zone = resolve_zone(lead.timezone, sequence.timezone)
    window = sequence_window(sequence)
    previous = batch.previous.get(e.id)
    anchor = previous.send_after if previous is not None else e.created_at
    earliest = add_delay(anchor, amount=step.delay_amount, unit=step.delay_unit, zone=zone)  # type: ignore[arg-type]
    if earliest > now:
        plan.defer(e, next_open(window, zone, earliest))
        return
    if not is_open(window, zone, now):
        plan.defer(e, next_open(window, zone, now))
        return
    own = batch.mailboxes_of.get(sequence.id, [])
    sticky = batch.plans.get(e.mailbox_id) if e.mailbox_id in own else None
    if sticky is not None and sticky.usable:
        candidates = [sticky]
    else:
        candidates = [batch.plans[m] for m in own if m in batch.plans]
    choice = rotation.choose(candidates, now=now, lead_window=window, lead_zone=zone)
    if choice.plan is None or choice.at is None:
        retry = choice.retry_at or now + NO_MAILBOX_RETRY
        plan.defer(e, next_open(window, zone, retry))
        return
    company = batch.companies.get(lead.company_id) if lead.company_id else None
    queued = await outbox.add(
        enrollment=e,
        sequence=sequence,
        step=step,
        lead=lead,
        company=company,
        mailbox=choice.plan.mailbox,
        previous=previous,
        send_after=choice.at,
    )
    if queued is None:
        plan.pause(e, "template_error")
        return
    choice.plan.take(choice.at, key=str(queued))
    following = steps.get(step.position + 1)
    next_at = None
    if following is not None:
        due = add_delay(
            choice.at,
            amount=following.delay_amount,
            unit=following.delay_unit,  # type: ignore[arg-type]
            zone=zone,
        )
        next_at = next_open(window, zone, due)
    plan.advance(e, step=step.position + 1, at=next_at, mailbox_id=choice.plan.mailbox.id)


async def run_until_idle(
    db: Any,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    max_ticks: int = 10_000,
) -> TickResult:
    """Tick (one transaction each) until nothing is due at `now`. A step with no delay is due
    again at once, so only an empty tick ends the loop."""
    total = TickResult()
    for _ in range(max_ticks):
        async with db.session() as session:
            result = await tick(session, settings, now=now, batch=batch)
        total.add(result)
        if result.claimed == 0:
            break
    return total


__all__ = ["BATCH", "TickResult", "run_until_idle", "sequence_window", "tick"]
