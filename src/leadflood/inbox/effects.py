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
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import (
    Boolean,
    DateTime,
    String,
    Text,
    Uuid,
    case,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from leadflood import events
from leadflood.db.scope import in_workspace
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
OPT_OUTS = ("unsubscribe", "complaint")
# The sends a mailbox's health counts.
COUNTED = (MessageStatus.sent, MessageStatus.bounced)
STATUS = Message.__table__.c.status.type
# Predicates written out (no parameters) so that the partial indexes of migration 0028 match
# them in every plan, generic ones included.
OUTBOUND = literal_column("'outbound'", String)
COMPLAINT = text(
    "messages.direction = 'inbound' AND (messages.classification ->> 'kind') = 'complaint'"
)
SOFT_BOUNCE = text(
    "messages.direction = 'inbound' AND (messages.classification ->> 'bounce_type') = 'soft'"
)
SOFT_RECIPIENT = func.lower(literal_column("messages.classification ->> 'recipient'", String))


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
    if kind in OPT_OUTS or kind == "bounce":
        outcomes = await _read(session, workspace_id, [(target, result)], now)
        return (await _end(session, workspace_id, outcomes, now))[0]
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
    rules read in one), the out-of-office pauses in one, the unsubscribes, complaints and
    bounces together (`_end`: their suppressions in one insert, one stop per reason, the
    mailbox health once per mailbox), "left the company" each. When entries of the batch could
    act on the same people (one lead, enrollment, address or message twice, an address that is
    another entry's lead, a sequence that stops a replier's colleagues), each is applied in
    turn, exactly as one at a time."""
    replies = [t.enrollment_id for t, r in batch if r.kind == "reply" and t.enrollment_id]
    rules = await _stop_rules_of(session, replies)
    people = [t.enrollment_id or t.lead_id for t, _ in batch if t.enrollment_id or t.lead_id]
    leads = [t.lead_id for t, _ in batch if t.lead_id]
    ending = [(t, r) for t, r in batch if r.kind in OPT_OUTS or r.kind == "bounce"]
    alone = (
        len(set(people)) < len(people)
        or len(set(leads)) < len(leads)
        or any(r.get("stop_company_on_reply") for r in rules.values())
    )
    outcomes = [] if alone else await _read(session, workspace_id, ending, now)
    if alone or _overlap(batch, outcomes):
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
    ended = iter(await _end(session, workspace_id, outcomes, now))
    done: list[list[str]] = []
    for target, result in batch:
        if result.kind == "reply":
            replied = target.enrollment_id in stopped
            done.append(["Enrollment stopped: the lead replied."] if replied else [])
        elif target.enrollment_id in away:
            done.append(
                [_paused(away[target.enrollment_id])] if target.enrollment_id in paused else []
            )
        elif result.kind in OPT_OUTS or result.kind == "bounce":
            done.append(next(ended))
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


@dataclass
class _Outcome:
    """An unsubscribe, a complaint or a bounce, as read before any of its batch's writes."""

    target: Target
    result: Classification
    address: str | None = None  # the person's address (an opt-out), the recipient (a bounce)
    reason: str | None = None  # why the person's outreach ends; None: it does not (block, soft)
    soft: int = 0  # a soft bounce's number within 30 days, this one included
    leads: set[uuid.UUID] = field(default_factory=set)  # the leads whose outreach ends
    stopped: int = 0  # how many of their enrollments stop

    @property
    def bounced(self) -> bool:
        """A bounce that suppresses the address (hard, or a soft one too many)."""
        return self.result.kind == "bounce" and self.reason is not None

    @property
    def detail(self) -> str:
        return " ".join(x for x in (self.result.status, self.result.diagnostic) if x)[:500]


async def _read(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    batch: list[tuple[Target, Classification]],
    now: datetime,
) -> list[_Outcome]:
    """What the unsubscribes, complaints and bounces of a batch mean, read in a few queries:
    each one's address, a soft bounce's count, and whose enrollments its stop would end."""
    outcomes = [_Outcome(t, r) for t, r in batch]
    unknown = {
        o.target.lead_id
        for o in outcomes
        if o.result.kind in OPT_OUTS and o.target.message is None and o.target.lead_id
    }
    emails: dict[uuid.UUID, str | None] = {}
    if unknown:
        rows = await session.execute(select(Lead.id, Lead.email).where(Lead.id.in_(unknown)))
        emails = {lead_id: email for lead_id, email in rows}
    for o in outcomes:
        sent = o.target.message.to_address if o.target.message is not None else None
        if o.result.kind in OPT_OUTS:
            o.reason = "unsubscribed" if o.result.kind == "unsubscribe" else "complaint"
            if o.target.message is not None:
                o.address = sent
            else:
                lead_email = emails.get(o.target.lead_id) if o.target.lead_id else None
                o.address = lead_email or o.result.recipient
        else:
            o.address = o.result.recipient or sent
            if o.result.bounce_type not in ("block", "soft"):
                o.reason = "bounced"
    soft = [o for o in outcomes if o.result.kind == "bounce" and o.result.bounce_type == "soft"]
    counts = await _soft_bounces(session, workspace_id, {o.address for o in soft if o.address}, now)
    for o in soft:
        o.soft = (counts.get(o.address.lower(), 0) if o.address else 0) + 1
        if o.address and o.soft >= SOFT_BOUNCES_TO_SUPPRESS:
            o.reason = "bounced"
    await _people(session, workspace_id, [o for o in outcomes if o.reason])
    return outcomes


def _normal(address: str | None) -> str:
    return (address or "").strip().lower()


async def _people(session: AsyncSession, workspace_id: uuid.UUID, outcomes: list[_Outcome]) -> None:
    """The leads each outcome's stop reaches (its own and those with its address, as
    `stops.stop_person` finds them) and how many of their enrollments it stops, in one query."""
    addresses = {_normal(o.address) for o in outcomes if o.address}
    lead_ids = {o.target.lead_id for o in outcomes if o.target.lead_id}
    if not (addresses or lead_ids):
        return
    email = func.lower(Lead.email)
    rows = await session.execute(
        select(Lead.id, email, Enrollment.id)
        .outerjoin(
            Enrollment,
            (Enrollment.lead_id == Lead.id) & (Enrollment.state != EnrollmentState.stopped),
        )
        .where(in_workspace(Lead, workspace_id), or_(Lead.id.in_(lead_ids), email.in_(addresses)))
    )
    by_address: dict[str, set[uuid.UUID]] = {}
    enrolled: dict[uuid.UUID, set[uuid.UUID]] = {}
    for lead_id, address, enrollment_id in rows:
        if address in addresses:
            by_address.setdefault(address, set()).add(lead_id)
        enrolled.setdefault(lead_id, set())
        if enrollment_id is not None:
            enrolled[lead_id].add(enrollment_id)
    for o in outcomes:
        own = {o.target.lead_id} if o.target.lead_id else set()
        o.leads = own | by_address.get(_normal(o.address), set())
        o.stopped = sum(len(enrolled.get(lead_id, ())) for lead_id in o.leads)


def _overlap(batch: list[tuple[Target, Classification]], outcomes: list[_Outcome]) -> bool:
    """Whether an unsubscribe, complaint or bounce reaches a person (a lead, an address, our
    message) that another entry of the batch reaches too: then their order matters."""
    leads = [lead for o in outcomes for lead in o.leads]
    leads += [t.lead_id for t, r in batch if t.lead_id and not _ends(r)]
    addresses = [_normal(o.address) for o in outcomes if o.reason and o.address]
    messages = [o.target.message.id for o in outcomes if o.target.message is not None]
    return any(len(set(x)) < len(x) for x in (leads, addresses, messages))


def _ends(result: Classification) -> bool:
    return result.kind in OPT_OUTS or result.kind == "bounce"


async def _end(
    session: AsyncSession, workspace_id: uuid.UUID, outcomes: list[_Outcome], now: datetime
) -> list[list[str]]:
    """Apply the outcomes together, with the effects and sentences each would have alone in
    their order: the addresses suppressed in one insert, our messages marked in one update,
    the bounce events in one, one `stops.stop_person` per reason, and each mailbox checked
    once (`_mailboxes`)."""
    if not outcomes:
        return []
    listed = [
        (o.address, "complained" if o.reason == "complaint" else o.reason)
        for o in outcomes
        if o.reason and o.address
    ]
    await suppression.add_many(session, workspace_id, SuppressionKind.email, listed, SOURCE)
    bounces = [o for o in outcomes if o.result.kind == "bounce" and o.target.message is not None]
    before = {o.target.message.id: o.target.message.status for o in bounces if o.target.message}
    await _mark(
        session, [(o.target.message, o.bounced, _error(o)) for o in bounces if o.target.message]
    )
    await events.emit_many(
        session, workspace_id, events.MESSAGE_BOUNCED,
        [{"message_id": o.target.message.id if o.target.message else None,
          "lead_id": o.target.lead_id, "enrollment_id": o.target.enrollment_id,
          "recipient": o.address, "bounce_type": o.result.bounce_type,
          "status": o.result.status, "at": now} for o in outcomes if o.bounced],
    )  # fmt: skip
    for reason in ("unsubscribed", "complaint", "bounced"):
        group = [o for o in outcomes if o.reason == reason]
        if group:
            await stops.stop_person(
                session, workspace_id, reason=reason,
                lead_ids=[o.target.lead_id for o in group if o.target.lead_id],
                emails=[o.address for o in group if o.address], now=now,
            )  # fmt: skip
    own = [o.target.enrollment_id for o in outcomes if o.bounced and o.target.enrollment_id]
    if own:
        await stops.stop_enrollments(
            session, Enrollment.id.in_(own), "bounced", now, finished_too=True
        )
    done: list[list[str]] = []
    for o in outcomes:
        if o.result.kind in OPT_OUTS:
            said = [f"{o.address or 'The person'} suppressed ({o.reason}) on every channel."]
        elif o.result.bounce_type == "block":
            said = ["Blocked by the receiver's policy: the mailbox is marked, the lead is not."]
        elif o.reason is None:
            said = [f"Soft bounce {o.soft} of {SOFT_BOUNCES_TO_SUPPRESS} in 30 days."]
        else:
            said = [f"{o.address or 'The address'} suppressed (bounced)."]
        if o.reason and o.stopped:
            said.append(f"{o.stopped} enrollment(s) stopped.")
        done.append(said)
    for index, sentence in (await _mailboxes(session, outcomes, before, now)).items():
        done[index].append(sentence)
    return done


def _error(o: _Outcome) -> str:
    if o.result.bounce_type == "block":
        return f"blocked by the receiver: {o.detail}"
    return f"bounced: {o.detail}" if o.bounced else f"soft bounce: {o.detail}"


async def _mailboxes(
    session: AsyncSession,
    outcomes: list[_Outcome],
    before: dict[uuid.UUID, MessageStatus],
    now: datetime,
) -> dict[int, str]:
    """The mailboxes' side, as one outcome at a time would leave it: a block marks its mailbox
    (the last block's words stay, unless a later pause replaces them); each mailbox with
    bounces or complaints is checked once (`_health`), and the outcome after which it passes a
    threshold pauses it and says so. {index of that outcome: its sentence}."""
    blocked: dict[uuid.UUID, int] = {}
    checks: dict[uuid.UUID, list[int]] = {}
    for i, o in enumerate(outcomes):
        box = o.target.mailbox_id
        if box is None:
            continue
        if o.result.kind == "bounce" and o.result.bounce_type == "block":
            blocked[box] = i
        elif o.result.kind == "complaint" or o.bounced:
            checks.setdefault(box, []).append(i)
    said: dict[int, str] = {}
    for box in dict.fromkeys([*checks, *blocked]):
        crossing = (
            await _health(session, box, outcomes, checks[box], before, now)
            if box in checks
            else None
        )
        block = blocked.get(box)
        late = block is not None and crossing is not None and block > crossing[0]
        if block is not None and not late:
            await _block(session, box, outcomes[block], now)
        if crossing is not None and await _pause_mailbox(session, box, crossing[1], now):
            said[crossing[0]] = f"Mailbox paused itself: {crossing[1]}."
        if block is not None and late:
            await _block(session, box, outcomes[block], now)
    return said


async def _block(session: AsyncSession, mailbox_id: uuid.UUID, o: _Outcome, now: datetime) -> None:
    await session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id)
        .values(last_error=f"{now:%Y-%m-%d %H:%M} UTC: a receiver blocked mail: {o.detail}")
    )


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


async def _health(
    session: AsyncSession,
    mailbox_id: uuid.UUID,
    outcomes: list[_Outcome],
    checks: list[int],
    before: dict[uuid.UUID, MessageStatus],
    now: datetime,
) -> tuple[int, str] | None:
    """The first of the outcomes `checks` (bounces and complaints of this mailbox, in order)
    after which the mailbox passes a threshold over its last HEALTH_SENDS sends, with why; the
    sends are read once, after the batch's marks, and each check sees the marks made up to its
    outcome only (a later one's message with its status before)."""
    marked = {
        o.target.message.id: i for i, o in enumerate(outcomes) if o.bounced and o.target.message
    }
    rows = (
        await session.execute(
            select(Message.id, Message.status)
            .where(
                Message.mailbox_id == mailbox_id,
                Message.direction == OUTBOUND,
                Message.status.in_(COUNTED),
            )
            .order_by(Message.created_at.desc())
            .limit(HEALTH_SENDS + len(marked))
        )
    ).all()
    complaints: int | None = None
    for i in checks:
        statuses: list[MessageStatus] = []
        for message_id, status in rows:
            if marked.get(message_id, -1) > i:
                status = before[message_id]
                if status not in COUNTED:
                    continue
            statuses.append(status)
            if len(statuses) == HEALTH_SENDS:
                break
        sends, bounced = len(statuses), statuses.count(MessageStatus.bounced)
        if sends < HEALTH_SENDS:
            continue
        if complaints is None:
            complaints = await _complaints(session, mailbox_id, now)
        if bounced / sends > BOUNCE_RATE:
            return i, f"{bounced} of its last {sends} sends bounced (over {BOUNCE_RATE:.0%})"
        if complaints / sends > COMPLAINT_RATE:
            why = f"{complaints} complaints over its last {sends} sends (over {COMPLAINT_RATE:.1%})"
            return i, why
    return None


async def _complaints(session: AsyncSession, mailbox_id: uuid.UUID, now: datetime) -> int:
    """The mailbox's complaints of the last 30 days (`ix_messages_mailbox_complaints`: the
    predicate is written out so that the partial index matches it)."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.mailbox_id == mailbox_id,
                COMPLAINT,
                Message.created_at >= now - timedelta(days=30),
            )
        )
        or 0
    )


async def _pause_mailbox(
    session: AsyncSession, mailbox_id: uuid.UUID, why: str, now: datetime
) -> bool:
    """Pause the mailbox if it is active; whether it was."""
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
    return result.first() is not None


async def _soft_bounces(
    session: AsyncSession, workspace_id: uuid.UUID, recipients: set[str], now: datetime
) -> dict[str, int]:
    """{lower-cased recipient: its soft bounces within 30 days}, in one query
    (`ix_messages_soft_bounces`)."""
    if not recipients:
        return {}
    rows = await session.execute(
        select(SOFT_RECIPIENT, func.count())
        .where(
            Message.workspace_id == workspace_id,
            SOFT_BOUNCE,
            SOFT_RECIPIENT.in_({r.lower() for r in recipients}),
            Message.created_at >= now - SOFT_BOUNCE_WINDOW,
        )
        .group_by(SOFT_RECIPIENT)
    )
    return {address: count for address, count in rows}


async def _mark(session: AsyncSession, marks: list[tuple[Message, bool, str]]) -> None:
    """Our bounced messages get their errors (and the `bounced` status when their address is
    suppressed), in one statement."""
    if not marks:
        return
    rows = values(
        column("id", Uuid()), column("bounced", Boolean()), column("error", Text()), name="marks"
    ).data([(message.id, bounced, error) for message, bounced, error in marks])
    status = case((rows.c.bounced, literal(MessageStatus.bounced, STATUS)), else_=Message.status)
    await session.execute(
        update(Message)
        .where(Message.id == rows.c.id)
        .values(error=rows.c.error, status=status)
        .execution_options(synchronize_session=False)
    )
    for message, bounced, error in marks:  # the session's copies, as the update left them
        set_committed_value(message, "error", error)
        if bounced:
            set_committed_value(message, "status", MessageStatus.bounced)


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
