"""The sandbox's simulated recipients answer, through the inbox's one pipeline: our messages
sent from a catcher mailbox (the demo's, or a test's: mail that never left this machine) to a
person of the sandbox universe, at least `delay` ago, to a lead who has not answered yet, get
the answer that recipient gives (`providers.sandbox.answers`): a reply of some label, an
out-of-office notice with a return date, or a DSN bounce. Each is ingested as raw mail
(`source="sandbox"`), so it is stored, threaded, classified and applied like a real one.

Idempotent: the answer to a message is the same mail under the same Message-ID, stored once;
a lead with an inbound message is answered no more."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from leadflood.inbox import process, store
from leadflood.models import Lead, Mailbox, Message, MessageStatus
from leadflood.providers.sandbox import answers

SOURCE = "sandbox"
# Messages sent longer ago than this are left alone (a restarted demo does not answer old mail).
LOOKBACK = timedelta(days=2)


async def answer_sent(
    session: AsyncSession, *, now: datetime, delay: timedelta, limit: int = 500
) -> int:
    """Ingest the simulated recipients' answers that are due; how many were stored."""
    answered = aliased(Message)
    rows = await session.execute(
        select(Message, Lead.first_name, Lead.last_name)
        .join(Mailbox, Mailbox.id == Message.mailbox_id)
        .join(Lead, Lead.id == Message.lead_id)
        .where(
            Mailbox.config.has_key("catcher_dir"),
            Message.direction == "outbound",
            Message.channel == "email",
            Message.status == MessageStatus.sent,
            Message.message_id.is_not(None),
            Message.sent_at <= now - delay,
            Message.sent_at > now - LOOKBACK,
            ~exists().where(
                answered.workspace_id == Message.workspace_id,
                answered.lead_id == Message.lead_id,
                answered.direction == "inbound",
            ),
        )
        .order_by(Message.sent_at)
        .limit(limit)
    )
    batches: dict[tuple[uuid.UUID, uuid.UUID | None], list[store.RawMail]] = defaultdict(list)
    for message, first_name, last_name in rows:
        if message.sent_at is None or not answers.is_sandbox_recipient(message.to_address):
            continue
        sent = answers.Sent(
            message_id=message.message_id or "",
            to_address=message.to_address,
            from_address=message.from_address or "",
            subject=message.subject,
            body_text=message.body_text,
            sent_at=message.sent_at,
            first_name=first_name,
            last_name=last_name,
        )
        at = message.sent_at + delay
        raw = answers.build_answer(sent, at=at)
        if raw is not None:
            key = (message.workspace_id, message.mailbox_id)
            batches[key].append(store.RawMail(raw=raw, folder="INBOX", delivered_at=at))
    stored = 0
    for (workspace_id, mailbox_id), mails in batches.items():
        report = await process.ingest(
            session, workspace_id, mails, source=SOURCE, mailbox_id=mailbox_id, now=now
        )
        stored += len(report.stored)
    return stored
