"""From inbound mail to what it means for outreach, in one transaction per batch, each step
set-based for the whole batch:

1. understand it (`understanding`: the rules, in a pool of processes for a large batch), read
   what it refers to (`threading`);
2. keep it only if it relates to something of ours (a message we sent, a lead of the
   workspace) and is not our own copy: a user's personal mail is counted, never stored;
3. store it raw (`store`, append-only, deduplicated), then record it as an inbound message of
   its thread with its classification, and apply its effects (`record`, `effects`) in the same
   transaction. Processing an item twice changes nothing (one message per item, unique). When
   recording the batch fails, each item is processed alone: one bad item keeps its error for
   `process_pending` and the others go through.

`ingest` is the entry of every source of raw mail (IMAP sync, the sandbox's simulated answers);
provider webhooks store their payloads first (`webhooks`) and record each through
`process_item` (`record` with a batch of one): an email a payload carries is understood like
raw mail, a delivery event (bounce, complaint, delay) brings its own Classification and the
facts that find our message. `process_pending` (re)processes items stored but not processed
(after a fix, or a batch whose processing failed), raw or payload alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events as webhook_events
from leadflood.inbox import events, record, resend_content, store, threading
from leadflood.inbox.understanding import Understood, understand, understand_all
from leadflood.logging import get_logger
from leadflood.models import InboundItem, Message, MessageStatus
from leadflood.sending import reconcile

log = get_logger("leadflood.inbox")


@dataclass
class IngestReport:
    stored: list[uuid.UUID] = field(default_factory=list)
    # Related to nothing of ours (personal mail), or our own copies: counted, not stored.
    ignored: int = 0
    own: int = 0
    duplicates: int = 0


async def ingest(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mails: Sequence[store.RawMail],
    *,
    source: str,
    mailbox_id: uuid.UUID | None = None,
    now: datetime | None = None,
    understood: Sequence[Understood] | None = None,
) -> IngestReport:
    """Store and process the mails that relate to us; the caller commits. `understood`: the
    mails understood already (`understand_mail`), in their order."""
    now = now or datetime.now(UTC)
    report = IngestReport()
    if understood is None:
        understood = await understand_mail(mails, now)
    facts = [u.facts for u in understood]
    ours = await threading.ours_many(session, workspace_id, facts)
    report.own = sum(ours)
    others = [i for i, own in enumerate(ours) if not own]
    targets = await threading.find_many(session, workspace_id, [facts[i] for i in others])
    kept = [(mails[i], understood[i], t) for i, t in zip(others, targets, strict=True) if t]
    report.ignored = len(others) - len(kept)
    if not kept:
        return report
    keys = [store.mail_key(m.raw) for m, _, _ in kept]
    stored = await store.store_mail(
        session, workspace_id, [m for m, _, _ in kept], source=source, mailbox_id=mailbox_id,
        keys=keys,
    )  # fmt: skip
    report.duplicates = len(kept) - len(stored)
    by_key = {key: (u, t) for key, (_, u, t) in zip(keys, kept, strict=True)}
    items = (await session.scalars(select(InboundItem).where(InboundItem.id.in_(stored)))).all()
    entries = [record.Entry(item, *by_key[item.dedupe_key]) for item in items]
    try:
        async with session.begin_nested():
            # Stored in this transaction: no message records them yet.
            await record.record(session, workspace_id, entries, now, fresh=True)
    except Exception:
        # One bad item must not lose the others: each is processed on its own, and one that
        # fails keeps its error, stored, for `process_pending`.
        log.exception("inbox.batch_failed", items=len(entries))
        again = select(InboundItem).where(InboundItem.id.in_(stored))
        await _process_each(session, list(await session.scalars(again)), now)
    report.stored = stored
    return report


async def understand_mail(
    mails: Sequence[store.RawMail], now: datetime | None = None
) -> list[Understood]:
    """Parse and classify raw mail (in the pool for a large batch); needs no database, so the
    IMAP sync does it for the next batch while the current one is recorded (`sync.Prepare`)."""
    at = now or datetime.now(UTC)
    return await understand_all([(m.raw, m.delivered_at or at) for m in mails])


async def ingest_imap(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    mails: list[store.RawMail],
    understood: list[Understood] | None = None,
) -> list[uuid.UUID]:
    """The IMAP sync's way in (see sync.Ingest), with what `understand_mail` made of the mails
    when the sync prepared them."""
    report = await ingest(
        session, workspace_id, mails, source="imap", mailbox_id=mailbox_id, understood=understood
    )
    if report.ignored or report.own:
        log.info(
            "inbox.not_stored", mailbox=str(mailbox_id), unrelated=report.ignored, own=report.own
        )
    return report.stored


async def process_pending(session: AsyncSession, *, limit: int = 100) -> int:
    """Process stored items not processed yet (raw mail or payloads); how many were recorded.
    An item whose processing fails again keeps its error and waits for the next run; the
    others of the batch go through."""
    return await _process_each(session, await store.unprocessed(session, limit=limit))


async def _process_each(
    session: AsyncSession, items: Sequence[InboundItem], now: datetime | None = None
) -> int:
    """Process the items one by one, each in its own savepoint: one that fails is marked with
    its error (left unprocessed, tried again by `process_pending`); how many were recorded."""
    done = 0
    for item in items:
        item_id = item.id  # the savepoint's rollback expires the item
        try:
            async with session.begin_nested():
                at = now or datetime.now(UTC)
                if await process_item(session, item, now=at) is not None:
                    done += 1
        except Exception as exc:
            log.exception("inbox.processing_failed", item=str(item_id))
            await store.mark_processed(session, item_id, error=f"{type(exc).__name__}: {exc}")
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
    """Our outbound message with this provider id (else with our id in the metadata the
    provider gives back) gets its delivery time and emits `message.delivered`, once (a repeated
    confirmation changes nothing); None when no message of ours waits for it. An `unconfirmed`
    message it names (its worker died during the attempt) is settled: it was sent."""
    ids = threading.provider_id_prefixes(delivered.provider_message_id)
    waiting = (
        select(Message)
        .where(
            Message.workspace_id == workspace_id,
            Message.direction == "outbound",
            Message.delivered_at.is_(None),
        )
        .order_by(Message.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    message = await session.scalar(waiting.where(Message.provider_message_id.in_(ids)))
    ours = _uuid(delivered.ours)
    if message is None and ours is not None:
        # Not one queued again by a person meanwhile: that one is theirs to settle.
        settled = (MessageStatus.unconfirmed, MessageStatus.sent)
        message = await session.scalar(
            waiting.where(Message.id == ours, Message.status.in_(settled))
        )
    if message is None:
        return None
    await reconcile.confirm_sent(
        session, message, at=delivered.at, provider_message_id=delivered.provider_message_id,
        evidence="the provider reported delivering it",
    )  # fmt: skip
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
    content = await resend_content.content_of(session, item)
    if content is not None:  # Resend's envelope: its fetched content stands for it
        await store.mark_processed(session, item.id)
        if content.processed_at is not None:
            return None
        return await process_item(session, content, now=now)
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
    entry = record.Entry(item, understood, target)
    return (await record.record(session, item.workspace_id, [entry], now))[0]


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
