"""From inbound mail to what it means for outreach, in one transaction per batch:

1. understand it (`rules`), read what it refers to (`threading`);
2. keep it only if it relates to something of ours (a message we sent, a lead of the
   workspace) and is not our own copy: a user's personal mail is counted, never stored;
3. store it raw (`store`, append-only, deduplicated), then record it as an inbound message of
   its thread with its classification, and apply its effects (`effects`) in the same
   transaction. Processing an item twice changes nothing (one message per item, unique).

`ingest` is the entry of every source of raw mail (IMAP sync, the sandbox's simulated answers);
provider webhooks store their payloads first (`webhooks`) and record each through
`process_item`, the one recording path: an email a payload carries is understood like raw mail,
a delivery event (bounce, complaint, delay) brings its own Classification and the facts that
find our message. `process_pending` (re)processes items stored but not processed (after a fix,
or a batch whose processing failed), raw or payload alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events as webhook_events
from leadflood.inbox import effects, events, rules, store, threading
from leadflood.inbox.rules import Classification
from leadflood.logging import get_logger
from leadflood.models import Enrollment, InboundItem, Message, MessageStatus, Thread, ThreadState

log = get_logger("leadflood.inbox")
CLASSIFIER: rules.Classifier = rules.RulesClassifier()


@dataclass
class IngestReport:
    stored: list[uuid.UUID] = field(default_factory=list)
    # Related to nothing of ours (personal mail), or our own copies: counted, not stored.
    ignored: int = 0
    own: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class Understood:
    # None for a provider's delivery event: no mail, its `summary` stands for the text.
    parsed: rules.Message | None
    result: Classification
    facts: threading.Facts
    summary: str | None = None


def understand(raw: bytes, received_at: datetime) -> Understood:
    parsed = rules.parse(raw, received=received_at.date())
    result = CLASSIFIER.classify(parsed)
    referenced = [result.in_reply_to or "", *result.references, result.original_message_id or ""]
    facts = threading.Facts(
        sender=parsed.sender,
        subject=parsed.subject,
        message_id=parsed.header("Message-ID").strip() or None,
        referenced=tuple(r.strip() for r in referenced if r and r.strip()),
        provider_message_id=None,
        recipient=result.recipient if result.kind in ("bounce", "bounce_warning", "complaint")
        else None,
        received_at=received_at,
    )  # fmt: skip
    return Understood(parsed, result, facts)


async def ingest(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mails: Sequence[store.RawMail],
    *,
    source: str,
    mailbox_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """Store and process the mails that relate to us; the caller commits."""
    now = now or datetime.now(UTC)
    report = IngestReport()
    kept: list[tuple[store.RawMail, Understood, threading.Target]] = []
    own = await threading.own_addresses(session, workspace_id)
    for mail in mails:
        understood = understand(mail.raw, mail.delivered_at or now)
        if await threading.is_ours(session, workspace_id, understood.facts, own=own):
            report.own += 1
            continue
        target = await threading.find(session, workspace_id, understood.facts)
        if target is None:
            report.ignored += 1
            continue
        kept.append((mail, understood, target))
    if not kept:
        return report
    stored = await store.store_mail(
        session, workspace_id, [m for m, _, _ in kept], source=source, mailbox_id=mailbox_id
    )
    report.duplicates = len(kept) - len(stored)
    by_key = {store.mail_key(m.raw): (u, t) for m, u, t in kept}
    items = (await session.scalars(select(InboundItem).where(InboundItem.id.in_(stored)))).all()
    for item in items:
        understood, target = by_key[item.dedupe_key]
        # Stored in this transaction: no message records it yet.
        await _record(session, item, understood, target, now, fresh=True)
    await store.mark_all_processed(session, stored)
    await session.flush()
    report.stored = stored
    return report


async def ingest_imap(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    mails: list[store.RawMail],
) -> list[uuid.UUID]:
    """The IMAP sync's way in (see sync.Ingest)."""
    report = await ingest(session, workspace_id, mails, source="imap", mailbox_id=mailbox_id)
    if report.ignored or report.own:
        log.info(
            "inbox.not_stored", mailbox=str(mailbox_id), unrelated=report.ignored, own=report.own
        )
    return report.stored


async def process_pending(session: AsyncSession, *, limit: int = 100) -> int:
    """Process stored items not processed yet (raw mail or payloads); how many were recorded.
    An item whose processing fails again keeps its error and waits for the next run; the
    others of the batch go through."""
    done = 0
    for item in await store.unprocessed(session, limit=limit):
        try:
            async with session.begin_nested():
                if await process_item(session, item, now=datetime.now(UTC)) is not None:
                    done += 1
        except Exception as exc:
            log.exception("inbox.processing_failed", item=str(item.id))
            await store.mark_processed(session, item.id, error=f"{type(exc).__name__}: {exc}")
    return done


def understand_item(item: InboundItem) -> Understood | events.Delivered | None:
    """A stored item read again: raw mail, or a provider webhook's payload (an email it
    carries, a delivery event, or the confirmation that one of our messages was delivered);
    None when it means nothing for outreach (an open, a click) or was erased."""
    at = item.delivered_at or item.received_at
    if item.raw is not None:
        return understand(item.raw, at)
    if item.payload is None:
        return None
    found = events.interpret(item.source, item.payload, at)
    if isinstance(found, events.Mail):
        return understand(found.raw, at)
    if isinstance(found, events.Event):
        return Understood(None, found.result, found.facts, found.summary)
    return found


async def record_delivery(
    session: AsyncSession, workspace_id: uuid.UUID, delivered: events.Delivered
) -> Message | None:
    """Our outbound message with this provider id gets its delivery time and emits
    `message.delivered`, once (a repeated confirmation changes nothing); None when no message
    of ours waits for it."""
    ids = threading.provider_id_prefixes(delivered.provider_message_id)
    message = await session.scalar(
        select(Message)
        .where(
            Message.workspace_id == workspace_id,
            Message.direction == "outbound",
            Message.provider_message_id.in_(ids),
            Message.delivered_at.is_(None),
        )
        .order_by(Message.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if message is None:
        return None
    message.delivered_at = delivered.at
    await session.flush()
    await webhook_events.emit(
        session, workspace_id, webhook_events.MESSAGE_DELIVERED,
        {"message_id": message.id, "enrollment_id": message.enrollment_id,
         "lead_id": message.lead_id, "channel": message.channel, "to": message.to_address,
         "provider_message_id": message.provider_message_id, "sent_at": message.sent_at,
         "delivered_at": message.delivered_at},
    )  # fmt: skip
    log.info("inbox.delivered", message=str(message.id))
    return message


async def process_item(
    session: AsyncSession, item: InboundItem, *, now: datetime
) -> Message | None:
    """Record one stored item (idempotent: an item recorded already is left as it is); the
    inbound message, or None when it relates to nothing of ours (or confirms a delivery)."""
    understood = understand_item(item)
    if isinstance(understood, events.Delivered):
        await record_delivery(session, item.workspace_id, understood)
        await store.mark_processed(session, item.id)
        return None
    target = None
    if understood is not None and not (
        understood.parsed is not None
        and await threading.is_ours(session, item.workspace_id, understood.facts)
    ):
        target = await threading.find(session, item.workspace_id, understood.facts)
    if understood is None or target is None:
        await store.mark_processed(session, item.id)
        return None
    return await _record(session, item, understood, target, now)


async def _record(
    session: AsyncSession,
    item: InboundItem,
    understood: Understood,
    target: threading.Target,
    now: datetime,
    *,
    fresh: bool = False,
) -> Message | None:
    """Record the item as an inbound message and apply its effects. `fresh`: the item was
    stored in this transaction (nothing records it yet) and the caller marks it processed."""
    if not fresh:
        existing = await session.scalar(
            select(Message.id).where(Message.inbound_item_id == item.id)
        )
        if existing is not None:
            await store.mark_processed(session, item.id)
            return None
    result, parsed = understood.result, understood.parsed
    sender: str | None
    text: str | None
    if parsed is not None:
        to_address = ", ".join(parsed.header_all("To"))
        sender, subject, text = parsed.sender, parsed.subject, parsed.visible or parsed.text
    else:
        to_address, sender = result.recipient or "", None
        subject, text = understood.facts.subject, understood.summary
    done = await effects.apply(session, item.workspace_id, target, result, now)
    thread = await _thread(session, item.workspace_id, target, subject, now)
    classification = {**result.to_json(), "matched_by": target.matched_by, "effects": done}
    message = Message(
        id=uuid.uuid4(),
        workspace_id=item.workspace_id,
        thread_id=thread.id,
        inbound_item_id=item.id,
        enrollment_id=target.enrollment_id,
        lead_id=target.lead_id,
        mailbox_id=item.mailbox_id or target.mailbox_id,
        channel="email",
        direction="inbound",
        status=MessageStatus.received,
        to_address=to_address[:320],
        from_address=(sender or "")[:320] or None,
        subject=subject,
        body_text=text,
        message_id=(understood.facts.message_id or "")[:255] or None,
        in_reply_to=(result.in_reply_to or "")[:255] or None,
        send_after=item.delivered_at or item.received_at,
        sent_at=item.delivered_at or item.received_at,
        classification=classification,
    )
    session.add(message)
    _touch(thread, result, message.sent_at or now)
    if not fresh:
        await store.mark_processed(session, item.id)
    await session.flush()
    if result.kind == "reply":
        await webhook_events.emit(
            session, item.workspace_id, webhook_events.REPLY_RECEIVED,
            {"message_id": message.id, "thread_id": thread.id, "lead_id": message.lead_id,
             "enrollment_id": message.enrollment_id, "from": message.from_address,
             "subject": subject, "label": result.label, "received_at": message.sent_at},
        )  # fmt: skip
    log.info(
        "inbox.processed", item=str(item.id), kind=result.kind, label=result.label,
        matched_by=target.matched_by, effects=len(done),
    )  # fmt: skip
    return message


async def _thread(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    target: threading.Target,
    subject: str,
    now: datetime,
) -> Thread:
    """The conversation: one per enrollment, else the lead's latest one without enrollment;
    created when missing, with our messages of the enrollment attached to it."""
    query = select(Thread).where(Thread.workspace_id == workspace_id)
    if target.enrollment_id is not None:
        query = query.where(Thread.enrollment_id == target.enrollment_id)
    elif target.lead_id is not None:
        query = query.where(Thread.lead_id == target.lead_id, Thread.enrollment_id.is_(None))
    else:
        query = query.where(False)  # type: ignore[arg-type]
    thread = (await session.scalars(query.order_by(Thread.last_message_at.desc()).limit(1))).first()
    if thread is None:
        sequence_id = (
            await session.scalar(
                select(Enrollment.sequence_id).where(Enrollment.id == target.enrollment_id)
            )
            if target.enrollment_id
            else None
        )
        thread = Thread(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            lead_id=target.lead_id,
            mailbox_id=target.mailbox_id,
            enrollment_id=target.enrollment_id,
            sequence_id=sequence_id,
            subject=(target.message.subject if target.message else subject) or subject,
            last_message_at=now,
        )
        session.add(thread)
        await session.flush()
    if target.enrollment_id is not None:
        await session.execute(
            update(Message)
            .where(Message.enrollment_id == target.enrollment_id, Message.thread_id.is_(None))
            .values(thread_id=thread.id)
        )
    elif target.message is not None and target.message.thread_id is None:
        target.message.thread_id = thread.id
    return thread


def _touch(thread: Thread, result: Classification, at: datetime) -> None:
    thread.kind, thread.label = result.kind, result.label
    thread.unread = True
    thread.state = ThreadState.open
    thread.last_message_at = max(thread.last_message_at, at)
    thread.last_inbound_at = at
