"""What an understood inbound message does, in the transaction that records it:

- a human reply stops its enrollment (the sequence's `on_reply` rule, on by default) and, when
  the sequence says `stop_company_on_reply`, the enrollments of people at the same company;
- an unsubscribe request or a complaint suppresses the person on every channel and stops all of
  their enrollments;
- a hard bounce suppresses the address and stops the enrollment; a soft bounce is counted (the
  third within 30 days suppresses); a block bounce marks our message and the mailbox, not the
  lead (it is about the sender);
- an out-of-office pauses the enrollment until the day after the return date (14 days when
  none is given), then the scheduler resumes it where it was; "left the company" stops it;
- a mailbox whose bounce or complaint rate over its last sends passes a threshold pauses.
Each effect is returned as a short sentence, kept with the inbound message for the timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import DateTime, Uuid, column, func, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events
from leadflood.inbox.rules import Classification
from leadflood.inbox.threading import Target
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    Mailbox,
    MailboxState,
    Message,
    MessageStatus,
    Sequence,
    SuppressionKind,
)
from leadflood.suppressions import service as suppression
from leadflood.suppressions import stops

SOFT_BOUNCES_TO_SUPPRESS = 3
SOFT_BOUNCE_WINDOW = timedelta(days=30)
OOO_DEFAULT = timedelta(days=14)
# A mailbox pauses itself when, over its last HEALTH_SENDS sends, bounces pass BOUNCE_RATE or
# complaints pass COMPLAINT_RATE.
HEALTH_SENDS = 100
BOUNCE_RATE = 0.05
COMPLAINT_RATE = 0.003
SOURCE = "inbox"


async def apply(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    target: Target,
    result: Classification,
    now: datetime,
) -> list[str]:
    kind = result.kind
    if kind == "reply":
        return await _reply(session, workspace_id, target, now)
    if kind in ("unsubscribe", "complaint"):
        return await _opt_out(session, workspace_id, target, result, now)
    if kind == "bounce":
        return await _bounce(session, workspace_id, target, result, now)
    if kind == "auto_reply" and result.label == "out_of_office":
        return await _out_of_office(session, target, result, now)
    if kind == "auto_reply" and result.label == "left_company":
        if target.enrollment_id is None:
            return []
        stopped = await stops.stop_enrollments(
            session, Enrollment.id == target.enrollment_id, "left_company", now, finished_too=True
        )
        return ["Enrollment stopped: the person left the company."] if stopped else []
    return []


async def apply_many(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    batch: list[tuple[Target, Classification]],
    now: datetime,
) -> list[list[str]]:
    """`apply` for a batch, in its order: the replies' stops in one statement (with their stop
    rules read in one), the out-of-office pauses in one, the other effects each. When entries
    of the batch could act on the same enrollments (one lead or enrollment twice, a sequence
    that stops a replier's colleagues), each is applied in turn, exactly as one at a time."""
    replies = [t.enrollment_id for t, r in batch if r.kind == "reply" and t.enrollment_id]
    rules = await _stop_rules_of(session, replies)
    people = [t.enrollment_id or t.lead_id for t, _ in batch if t.enrollment_id or t.lead_id]
    leads = [t.lead_id for t, _ in batch if t.lead_id]
    if (
        len(set(people)) < len(people)
        or len(set(leads)) < len(leads)
        or any(r.get("stop_company_on_reply") for r in rules.values())
    ):
        return [await apply(session, workspace_id, t, r, now) for t, r in batch]
    on_reply = [e for e in replies if rules.get(e, {}).get("on_reply", True)]
    stopped = set()
    if on_reply:
        stopped = set(
            await stops.stop_enrollments(
                session, Enrollment.id.in_(on_reply), "replied", now, finished_too=True
            )
        )
    away = {
        t.enrollment_id: _back_on(r, now)
        for t, r in batch
        if t.enrollment_id and r.kind == "auto_reply" and r.label == "out_of_office"
    }
    paused = await _pause(session, away) if away else set()
    done: list[list[str]] = []
    for target, result in batch:
        if result.kind == "reply":
            replied = target.enrollment_id in stopped
            done.append(["Enrollment stopped: the lead replied."] if replied else [])
        elif target.enrollment_id in away:
            done.append(
                [_paused(away[target.enrollment_id])] if target.enrollment_id in paused else []
            )
        else:
            done.append(await apply(session, workspace_id, target, result, now))
    return done


async def _reply(
    session: AsyncSession, workspace_id: uuid.UUID, target: Target, now: datetime
) -> list[str]:
    if target.enrollment_id is None:
        return []
    rules = await _stop_rules(session, target.enrollment_id)
    done: list[str] = []
    if rules.get("on_reply", True):
        stopped = await stops.stop_enrollments(
            session, Enrollment.id == target.enrollment_id, "replied", now, finished_too=True
        )
        if stopped:
            done.append("Enrollment stopped: the lead replied.")
    if rules.get("stop_company_on_reply") and target.lead_id is not None:
        company = await session.scalar(select(Lead.company_id).where(Lead.id == target.lead_id))
        if company is not None:
            colleagues = select(Lead.id).where(
                Lead.workspace_id == workspace_id,
                Lead.company_id == company,
                Lead.id != target.lead_id,
            )
            sequence = select(Enrollment.sequence_id).where(Enrollment.id == target.enrollment_id)
            stopped = await stops.stop_enrollments(
                session,
                Enrollment.lead_id.in_(colleagues) & Enrollment.sequence_id.in_(sequence),
                "colleague_replied",
                now,
            )
            if stopped:
                done.append(f"{len(stopped)} colleague enrollment(s) stopped: same company.")
    return done


async def _opt_out(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    target: Target,
    result: Classification,
    now: datetime,
) -> list[str]:
    reason = "unsubscribed" if result.kind == "unsubscribe" else "complaint"
    email = await _person_email(session, target, result)
    if email:
        # The suppression list names a complaint "complained".
        listed = "complained" if reason == "complaint" else reason
        await suppression.add(session, workspace_id, SuppressionKind.email, email, listed, SOURCE)
    lead_ids = [target.lead_id] if target.lead_id else []
    stopped, _ = await stops.stop_person(
        session, workspace_id, reason=reason, lead_ids=lead_ids,
        emails=[email] if email else [], now=now,
    )  # fmt: skip
    done = [f"{email or 'The person'} suppressed ({reason}) on every channel."]
    if stopped:
        done.append(f"{stopped} enrollment(s) stopped.")
    if result.kind == "complaint" and target.mailbox_id:
        done += await _mailbox_health(session, target.mailbox_id, now)
    return done


async def _bounce(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    target: Target,
    result: Classification,
    now: datetime,
) -> list[str]:
    recipient = result.recipient or (target.message.to_address if target.message else None)
    detail = " ".join(x for x in (result.status, result.diagnostic) if x)[:500]
    if result.bounce_type == "block":
        if target.message is not None:
            await _mark(session, target.message.id, None, f"blocked by the receiver: {detail}")
        if target.mailbox_id is not None:
            await session.execute(
                update(Mailbox)
                .where(Mailbox.id == target.mailbox_id)
                .values(last_error=f"{now:%Y-%m-%d %H:%M} UTC: a receiver blocked mail: {detail}")
            )
        return ["Blocked by the receiver's policy: the mailbox is marked, the lead is not."]
    if result.bounce_type == "soft":
        if target.message is not None:
            await _mark(session, target.message.id, None, f"soft bounce: {detail}")
        count = await _soft_bounces(session, workspace_id, recipient, now) + 1
        if count < SOFT_BOUNCES_TO_SUPPRESS or not recipient:
            return [f"Soft bounce {count} of {SOFT_BOUNCES_TO_SUPPRESS} in 30 days."]
    if recipient:
        await suppression.add(
            session, workspace_id, SuppressionKind.email, recipient, "bounced", SOURCE
        )
    if target.message is not None:
        await _mark(session, target.message.id, MessageStatus.bounced, f"bounced: {detail}")
    await events.emit(
        session, workspace_id, events.MESSAGE_BOUNCED,
        {"message_id": target.message.id if target.message else None, "lead_id": target.lead_id,
         "enrollment_id": target.enrollment_id, "recipient": recipient,
         "bounce_type": result.bounce_type, "status": result.status, "at": now},
    )  # fmt: skip
    stopped, _ = await stops.stop_person(
        session, workspace_id, reason="bounced", emails=[recipient] if recipient else [],
        lead_ids=[target.lead_id] if target.lead_id else [], now=now,
    )  # fmt: skip
    if target.enrollment_id is not None:
        await stops.stop_enrollment(session, target.enrollment_id, "bounced", now)
    done = [f"{recipient or 'The address'} suppressed (bounced)."]
    if stopped:
        done.append(f"{stopped} enrollment(s) stopped.")
    if target.mailbox_id is not None:
        done += await _mailbox_health(session, target.mailbox_id, now)
    return done


async def _out_of_office(
    session: AsyncSession, target: Target, result: Classification, now: datetime
) -> list[str]:
    if target.enrollment_id is None:
        return []
    until = _back_on(result, now)
    paused = await _pause(session, {target.enrollment_id: until})
    return [_paused(until)] if paused else []


def _back_on(result: Classification, now: datetime) -> datetime:
    """When an out-of-office enrollment resumes: the day after the return date, else in 14 days."""
    if result.return_date is not None:
        return datetime.combine(result.return_date + timedelta(days=1), time(8), tzinfo=UTC)
    return now + OOO_DEFAULT


def _paused(until: datetime) -> str:
    return f"Enrollment paused until {until:%Y-%m-%d} (out of office)."


async def _pause(session: AsyncSession, until: dict[uuid.UUID, datetime]) -> set[uuid.UUID]:
    """Pause the active enrollments out of office until their dates, in one statement; the ids
    paused."""
    dates = values(column("id", Uuid()), column("until", DateTime(timezone=True)), name="ooo").data(
        list(until.items())
    )
    paused = await session.execute(
        update(Enrollment)
        .where(Enrollment.id == dates.c.id, Enrollment.state == EnrollmentState.active)
        .values(state=EnrollmentState.paused, stop_reason="out_of_office", resume_at=dates.c.until)
        .returning(Enrollment.id)
        .execution_options(synchronize_session=False)
    )
    return set(paused.scalars().all())


async def _mailbox_health(session: AsyncSession, mailbox_id: uuid.UUID, now: datetime) -> list[str]:
    recent = (
        select(Message.id, Message.status)
        .where(
            Message.mailbox_id == mailbox_id,
            Message.direction == "outbound",
            Message.status.in_([MessageStatus.sent, MessageStatus.bounced]),
        )
        .order_by(Message.created_at.desc())
        .limit(HEALTH_SENDS)
        .subquery()
    )
    sends, bounced = (
        await session.execute(
            select(
                func.count(), func.count().filter(recent.c.status == MessageStatus.bounced)
            ).select_from(recent)
        )
    ).one()
    if sends < HEALTH_SENDS:
        return []
    complaints = (
        await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.direction == "inbound",
                Message.mailbox_id == mailbox_id,
                Message.classification["kind"].astext == "complaint",
                Message.created_at >= now - timedelta(days=30),
            )
        )
        or 0
    )
    why = None
    if bounced / sends > BOUNCE_RATE:
        why = f"{bounced} of its last {sends} sends bounced (over {BOUNCE_RATE:.0%})"
    elif complaints / sends > COMPLAINT_RATE:
        why = f"{complaints} complaints over its last {sends} sends (over {COMPLAINT_RATE:.1%})"
    if why is None:
        return []
    result = await session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.state == MailboxState.active)
        .values(
            state=MailboxState.paused,
            last_error=f"{now:%Y-%m-%d %H:%M} UTC: paused itself: {why}. Check the list's "
            "quality and the domain's reputation before resuming it.",
        )
        .returning(Mailbox.id)
    )
    return [f"Mailbox paused itself: {why}."] if result.first() else []


async def _soft_bounces(
    session: AsyncSession, workspace_id: uuid.UUID, recipient: str | None, now: datetime
) -> int:
    if not recipient:
        return 0
    return (
        await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.direction == "inbound",
                Message.classification["bounce_type"].astext == "soft",
                func.lower(Message.classification["recipient"].astext) == recipient.lower(),
                Message.created_at >= now - SOFT_BOUNCE_WINDOW,
            )
        )
        or 0
    )


async def _mark(
    session: AsyncSession, message_id: uuid.UUID, status: MessageStatus | None, error: str
) -> None:
    values: dict[str, object] = {"error": error}
    if status is not None:
        values["status"] = status
    await session.execute(update(Message).where(Message.id == message_id).values(**values))


async def _person_email(
    session: AsyncSession, target: Target, result: Classification
) -> str | None:
    if target.message is not None:
        return target.message.to_address
    if target.lead_id is not None:
        email = await session.scalar(select(Lead.email).where(Lead.id == target.lead_id))
        if email:
            return email
    return result.recipient


async def _stop_rules(session: AsyncSession, enrollment_id: uuid.UUID) -> dict[str, object]:
    return (await _stop_rules_of(session, [enrollment_id])).get(enrollment_id, {})


async def _stop_rules_of(
    session: AsyncSession, enrollment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, object]]:
    """The stop rules of each enrollment's sequence, in one query."""
    if not enrollment_ids:
        return {}
    rows = await session.execute(
        select(Enrollment.id, Sequence.stop_rules)
        .join(Enrollment, Enrollment.sequence_id == Sequence.id)
        .where(Enrollment.id.in_(set(enrollment_ids)))
    )
    return {enrollment_id: dict(rules or {}) for enrollment_id, rules in rows}
