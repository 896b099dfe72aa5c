"""Recording understood inbound items, a batch at a time: each becomes an inbound message of its
thread with its classification, and its effects apply, in the caller's transaction, with a
statement per step for the whole batch rather than per message:

- items recorded already are left as they are (one query; the same item twice changes nothing);
- our `unconfirmed` messages they refer to were sent: they are settled so;
- effects (`effects.apply_many`): the batch's stops in one statement, the rarer effects each;
- threads: found for every enrollment (or lead) of the batch in one query, the missing ones
  created in one insert, our messages of their enrollments attached in one update;
- the inbound messages inserted together, the reply events emitted in one executemany.

Items of one enrollment in a batch share its thread and take effect in their order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events as webhook_events
from leadflood.inbox import effects, store, threading
from leadflood.inbox.rules import Classification
from leadflood.inbox.understanding import Understood
from leadflood.logging import get_logger
from leadflood.models import Enrollment, InboundItem, Message, MessageStatus, Thread, ThreadState
from leadflood.sending import reconcile

log = get_logger("leadflood.inbox")


@dataclass(frozen=True)
class Entry:
    """A stored item, what it says and what it relates to."""

    item: InboundItem
    understood: Understood
    target: threading.Target


async def record(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    entries: Sequence[Entry],
    now: datetime,
    *,
    fresh: bool = False,
) -> list[Message | None]:
    """Record the entries (all of one workspace) and apply their effects; for each, its inbound
    message, or None when the item was recorded already. `fresh`: the items were stored in
    this transaction (nothing records them yet). The items are marked processed."""
    todo = list(entries)
    if not fresh and todo:
        recorded = set(
            (
                await session.scalars(
                    select(Message.inbound_item_id).where(
                        Message.inbound_item_id.in_([e.item.id for e in todo])
                    )
                )
            ).all()
        )
        todo = [e for e in todo if e.item.id not in recorded]
    await store.mark_all_processed(session, [e.item.id for e in entries])
    if not todo:
        return [None] * len(entries)
    for entry in todo:  # what refers to a message in doubt shows that it left
        ours = entry.target.message
        if ours is not None and entry.target.matched_by == "message_id":
            kind = entry.understood.result.kind.replace("_", " ")
            await reconcile.confirm_sent(
                session, ours, at=now, evidence=f"the inbox received a {kind} that refers to it"
            )
    done = await effects.apply_many(
        session, workspace_id, [(e.target, e.understood.result) for e in todo], now
    )
    threads = await _threads(session, workspace_id, todo, now)
    messages = [
        _message(e, threads[_key(e.target)], effects_done)
        for e, effects_done in zip(todo, done, strict=True)
    ]
    session.add_all(messages)
    for entry, message in zip(todo, messages, strict=True):
        _touch(threads[_key(entry.target)], entry.understood.result, message.sent_at or now)
    await session.flush()
    replies = [
        {"message_id": m.id, "thread_id": m.thread_id, "lead_id": m.lead_id,
         "enrollment_id": m.enrollment_id, "from": m.from_address, "subject": m.subject,
         "label": e.understood.result.label, "received_at": m.sent_at}
        for e, m in zip(todo, messages, strict=True) if e.understood.result.kind == "reply"
    ]  # fmt: skip
    await webhook_events.emit_many(session, workspace_id, webhook_events.REPLY_RECEIVED, replies)
    for entry, effects_done in zip(todo, done, strict=True):
        result = entry.understood.result
        log.info(
            "inbox.processed", item=str(entry.item.id), kind=result.kind, label=result.label,
            matched_by=entry.target.matched_by, effects=len(effects_done),
        )  # fmt: skip
    by_item = {e.item.id: m for e, m in zip(todo, messages, strict=True)}
    return [by_item.get(e.item.id) for e in entries]


def _message(entry: Entry, thread: Thread, done: list[str]) -> Message:
    item, understood, target = entry.item, entry.understood, entry.target
    result, parsed = understood.result, understood.parsed
    sender: str | None
    text: str | None
    if parsed is not None:
        to_address = ", ".join(parsed.header_all("To"))
        sender, subject, text = parsed.sender, parsed.subject, parsed.visible or parsed.text
    else:
        to_address, sender = result.recipient or "", None
        subject, text = understood.facts.subject, understood.summary
    return Message(
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
        classification={**result.to_json(), "matched_by": target.matched_by, "effects": done},
    )


# A thread is one per enrollment, else the lead's latest one without enrollment.
ThreadKey = tuple[str, uuid.UUID | None]


def _key(target: threading.Target) -> ThreadKey:
    if target.enrollment_id is not None:
        return ("enrollment", target.enrollment_id)
    return ("lead", target.lead_id)


async def _threads(
    session: AsyncSession, workspace_id: uuid.UUID, entries: Sequence[Entry], now: datetime
) -> dict[ThreadKey, Thread]:
    """The conversation of each entry: found, else created, with our messages of its enrollment
    attached to it."""
    enrollment_ids = {e.target.enrollment_id for e in entries if e.target.enrollment_id}
    lead_ids = {
        e.target.lead_id for e in entries if e.target.enrollment_id is None and e.target.lead_id
    }
    threads: dict[ThreadKey, Thread] = {}
    if enrollment_ids or lead_ids:
        query = select(Thread).where(Thread.workspace_id == workspace_id)
        query = query.where(
            Thread.enrollment_id.in_(enrollment_ids)
            | (Thread.lead_id.in_(lead_ids) & Thread.enrollment_id.is_(None))
        )
        for thread in await session.scalars(query.order_by(Thread.last_message_at.desc())):
            key: ThreadKey = (
                ("enrollment", thread.enrollment_id)
                if thread.enrollment_id is not None
                else ("lead", thread.lead_id)
            )
            threads.setdefault(key, thread)
    missing = {_key(e.target): e for e in reversed(entries) if _key(e.target) not in threads}
    sequences: dict[uuid.UUID, uuid.UUID] = {}
    wanted = {e.target.enrollment_id for e in missing.values() if e.target.enrollment_id}
    if wanted:
        rows = await session.execute(
            select(Enrollment.id, Enrollment.sequence_id).where(Enrollment.id.in_(wanted))
        )
        sequences = {enrollment_id: sequence_id for enrollment_id, sequence_id in rows}
    created = []
    for key, entry in missing.items():
        target = entry.target
        subject = entry.understood.parsed.subject if entry.understood.parsed else ""
        subject = subject or entry.understood.facts.subject
        thread = Thread(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            lead_id=target.lead_id,
            mailbox_id=target.mailbox_id,
            enrollment_id=target.enrollment_id,
            sequence_id=sequences.get(target.enrollment_id) if target.enrollment_id else None,
            subject=(target.message.subject if target.message else subject) or subject,
            last_message_at=now,
        )
        threads[key] = thread
        created.append(thread)
    if created:
        session.add_all(created)
        await session.flush()
    attach = [threads[("enrollment", e)].id for e in enrollment_ids]
    if attach:
        await session.execute(
            update(Message)
            .where(
                Thread.id.in_(attach),
                Message.enrollment_id == Thread.enrollment_id,
                Message.thread_id.is_(None),
            )
            .values(thread_id=Thread.id)
            .execution_options(synchronize_session=False)
        )
    for entry in entries:
        message = entry.target.message
        if entry.target.enrollment_id is None and message is not None and message.thread_id is None:
            message.thread_id = threads[_key(entry.target)].id
    return threads


def _touch(thread: Thread, result: Classification, at: datetime) -> None:
    thread.kind, thread.label = result.kind, result.label
    thread.unread = True
    thread.state = ThreadState.open
    thread.last_message_at = max(thread.last_message_at, at)
    thread.last_inbound_at = at
