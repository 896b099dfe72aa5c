"""What a person does in the inbox: assign a thread, mark it done or unread, reply from it, and
correct the label of an inbound message. Each change is audited."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, in_workspace
from leadflood.errors import Conflict, InvalidInput
from leadflood.inbox import correction, queries
from leadflood.inbox.schemas import (
    ClassificationUpdate,
    EffectInPlace,
    ReplyRequest,
    ThreadUpdate,
)
from leadflood.models import (
    Lead,
    Mailbox,
    MailboxState,
    Membership,
    Message,
    MessageStatus,
    Sequence,
    Thread,
)
from leadflood.sending import service as sending
from leadflood.sending.channels import Outbound
from leadflood.sending.outbox import MessageNotFound
from leadflood.sequences.sample_send import MailboxNotActive
from leadflood.settings import Settings
from leadflood.suppressions import service as suppression

# References carries at most this many Message-IDs (the first and the latest ones).
MAX_REFERENCES = 20
_DELIVERED = (MessageStatus.sent, MessageStatus.received)
_RE = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)


class AssigneeNotMember(InvalidInput):
    code = "assignee_not_member"
    message = "The assignee must be a member of this workspace."


class RecipientSuppressed(Conflict):
    code = "recipient_suppressed"
    message = "This person is on the suppression list: nothing can be sent to them."


class NoRecipient(Conflict):
    code = "no_recipient"
    message = "This thread has no address to reply to."


class NoMailbox(Conflict):
    code = "no_mailbox"
    message = "This thread's mailbox was removed: there is no mailbox to reply from."


class NotInbound(Conflict):
    code = "not_inbound"
    message = "Only a received message has a label to correct."


async def update_thread(
    session: AsyncSession, thread_id: uuid.UUID, data: ThreadUpdate, *, by: CurrentMember
) -> Thread:
    thread = await queries.get_thread(session, by.workspace_id, thread_id, for_update=True)
    changes: dict[str, Any] = {}
    fields = data.model_dump(exclude_unset=True)
    if "assignee_id" in fields and fields["assignee_id"] != thread.assignee_id:
        assignee = fields["assignee_id"]
        if assignee is not None and not await _is_member(session, by.workspace_id, assignee):
            raise AssigneeNotMember(details={"assignee_id": str(assignee)})
        changes["assignee_id"] = [_text(thread.assignee_id), _text(assignee)]
        thread.assignee_id = assignee
    if "state" in fields and fields["state"] != thread.state:
        changes["state"] = [thread.state.value, fields["state"].value]
        thread.state = fields["state"]
    if "unread" in fields and fields["unread"] != thread.unread:
        changes["unread"] = [thread.unread, fields["unread"]]
        thread.unread = fields["unread"]
    if changes:
        await session.flush()
        await audit.record(
            session, "thread.updated", actor=by, target_type="thread", target_id=thread.id,
            details=changes,
        )  # fmt: skip
    return thread


async def mark_read(session: AsyncSession, thread: Thread) -> None:
    """A person opened the thread (not audited: reading is not a change someone made)."""
    if thread.unread:
        await session.execute(
            update(Thread).where(Thread.id == thread.id, Thread.unread).values(unread=False)
        )
        thread.unread = False


def reply_subject(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        return "Re:"
    return subject if _RE.match(subject) else f"Re: {subject}"


def references(messages: list[Message], parent: Message | None) -> list[str]:
    """The thread's Message-IDs, oldest first, ending with the one replied to."""
    ids = [m.message_id for m in messages if m.message_id and m.status in _DELIVERED]
    if parent is not None and parent.message_id:
        ids = [i for i in ids if i != parent.message_id] + [parent.message_id]
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_REFERENCES:
        unique = unique[:1] + unique[-(MAX_REFERENCES - 1) :]
    return unique


async def reply(
    session: AsyncSession,
    settings: Settings,
    thread_id: uuid.UUID,
    data: ReplyRequest,
    *,
    by: CurrentMember,
    now: datetime,
) -> Message:
    """Queue a person's reply through the thread's mailbox, threaded to the latest message we
    received (In-Reply-To, References, "Re: subject"). It has no enrollment: no lead window
    holds it, nor the mailbox's own window (see sending.claim.PERSONAL_REPLY); the cap and the
    gap between sends do. Refused when the recipient is suppressed."""
    thread = await queries.get_thread(session, by.workspace_id, thread_id, for_update=True)
    mailbox = await session.get(Mailbox, thread.mailbox_id) if thread.mailbox_id else None
    if mailbox is None or mailbox.workspace_id != thread.workspace_id:
        raise NoMailbox()
    if mailbox.state != MailboxState.active:
        raise MailboxNotActive()
    lead = await session.get(Lead, thread.lead_id) if thread.lead_id else None
    parent = await queries.latest_inbound(session, thread)
    to = (parent.from_address if parent is not None else None) or (lead.email if lead else None)
    if not to:
        raise NoRecipient()
    reason = (await suppression.suppressed_emails(session, by.workspace_id, [to])).get(to)
    if reason is None and lead is not None:
        found = await suppression.suppressed_lead_ids(session, by.workspace_id, [lead.id])
        reason = found.get(lead.id)
    if reason is not None:
        raise RecipientSuppressed(details={"to": to, "reason": reason})
    history = await queries.messages_of(session, thread)
    chain = references(history, parent)
    postal = await _postal_address(session, thread, mailbox)
    message_id = await sending.queue(
        session,
        settings,
        Outbound(
            workspace_id=by.workspace_id,
            mailbox=mailbox,
            to=to,
            send_after=now,
            subject=data.subject or reply_subject(thread.subject),
            body_text=data.body,
            postal_address=postal,
            lead_id=thread.lead_id,
            in_reply_to=parent.message_id if parent is not None else None,
            headers={"References": " ".join(chain)} if chain else {},
        ),
    )
    await session.execute(
        update(Message).where(Message.id == message_id).values(thread_id=thread.id)
    )
    thread.last_message_at = max(thread.last_message_at, now)
    thread.unread = False
    await session.flush()
    await audit.record(
        session, "thread.replied", actor=by, target_type="thread", target_id=thread.id,
        details={"message_id": str(message_id), "to": to},
    )  # fmt: skip
    await sending.wake(session, mailbox.id, now)
    await sending.kick(session, mailbox.id)
    message = await session.get(Message, message_id)
    assert message is not None
    await session.refresh(message)
    return message


@dataclass
class Corrected:
    """A correction: the message as corrected, the effects its new label had (each with its
    cause), and the effects of its former label that stay in place, with how to undo them."""

    message: Message
    effects: list[str] = field(default_factory=list)
    in_place: list[EffectInPlace] = field(default_factory=list)
    # The outcome the message's former label had (see correction.outcome), for the page's notice.
    was: str | None = None


async def correct(
    session: AsyncSession,
    message_id: uuid.UUID,
    data: ClassificationUpdate,
    *,
    by: CurrentMember,
    now: datetime,
) -> Corrected:
    """A person sets the kind and label of an inbound message: kept with who and when (the
    rules' conclusion stays under `previous`), audited; its thread's label follows its latest
    inbound message. The new label's effects apply as if the rules had concluded it
    (`correction.apply`), in this transaction, each kept with the message as "corrected by
    <person>". The former label's effects (a stop, a suppression) are not undone: `in_place`
    lists those that still hold and how a person undoes them. The same label again changes
    nothing."""
    message = await get_scoped(
        session, Message, by.workspace_id, message_id, error=MessageNotFound, for_update=True
    )
    if message.direction != "inbound":
        raise NotInbound()
    stored = dict(message.classification or {})
    before = {"kind": stored.get("kind"), "label": stored.get("label")}
    after = {"kind": data.kind, "label": data.label}
    if before == after:
        return Corrected(message)
    who = by.label
    was = correction.outcome_of(stored)
    result = await correction.with_recipient(
        session, message, correction.classification(data.kind, data.label, stored)
    )
    # Applied before the new label is written: a soft bounce counts the earlier ones.
    done = await correction.apply(session, message, stored, result, who=who, now=now)
    previous = stored.get("previous") or {
        key: stored.get(key) for key in ("kind", "label", "version", "evidence")
    }
    stored.update(
        kind=data.kind,
        label=data.label,
        bounce_type=result.bounce_type,
        recipient=result.recipient,
        version="person",
        evidence=[f"Set by {who} (was {_named(before)})."],
        previous=previous,
        effects=[*(stored.get("effects") or []), *done],
    )
    if done:  # when each correction acted, for the lead's timeline
        log = {"at": now.isoformat(), "by": who, "to": _named(after), "effects": done}
        stored["corrections"] = [*(stored.get("corrections") or []), log]
    message.classification = stored
    message.corrected_by = by.user.id if by.user is not None else None
    message.corrected_at = now
    await session.flush()
    if message.thread_id is not None:
        await _follow_latest(session, message.thread_id)
    await audit.record(
        session, "message.classification_corrected", actor=by, target_type="message",
        target_id=message.id, details={"from": before, "to": after},
    )  # fmt: skip
    now_is = correction.outcome(result.kind, result.label, result.bounce_type)
    kept = await correction.left_in_place(session, message, was, now_is)
    return Corrected(message, done, kept, was)


async def _follow_latest(session: AsyncSession, thread_id: uuid.UUID) -> None:
    thread = await session.get(Thread, thread_id)
    if thread is None:
        return
    latest = await queries.latest_inbound(session, thread)
    if latest is not None and latest.classification is not None:
        thread.kind = latest.classification.get("kind")
        thread.label = latest.classification.get("label")
        await session.flush()


async def _postal_address(session: AsyncSession, thread: Thread, mailbox: Mailbox) -> str:
    """The footer's address: the thread's sequence's, else the mailbox's."""
    if thread.sequence_id is not None:
        address = await session.scalar(
            select(Sequence.postal_address).where(Sequence.id == thread.sequence_id)
        )
        if address:
            return str(address)
    return str((mailbox.config or {}).get("postal_address") or "")


async def _is_member(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Membership.id).where(
            in_workspace(Membership, workspace_id), Membership.user_id == user_id
        )
    )
    return found is not None


def _named(classification: dict[str, Any]) -> str:
    kind, label = classification.get("kind") or "?", classification.get("label")
    return f"{kind} / {label}" if label else str(kind)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
