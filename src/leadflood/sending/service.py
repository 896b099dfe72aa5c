"""The sending engine's entry points for other features: `queue()` (or a `Queue` for a batch)
builds every outbound message through its channel, and `kick()` starts delivery for a mailbox
now instead of at the dispatcher's next turn."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped
from leadflood.errors import Conflict
from leadflood.models import Mailbox, Message, MessageStatus, UnsubscribeToken
from leadflood.sending.channels import Outbound, channel_of
from leadflood.sending.outbox import MessageNotFound
from leadflood.settings import Settings
from leadflood.suppressions import unsubscribe

DELIVER = "sending.deliver_mailbox"


def mailbox_lock(mailbox_id: uuid.UUID | str) -> str:
    # `lock`: one job sends for a mailbox at a time, many mailboxes in parallel.
    return f"sending.mailbox:{mailbox_id}"


# No queueing lock: Procrastinate's stalled-job retry puts a dead worker's job back to `todo`,
# which a queueing lock would refuse while the dispatcher's next job waits (and the rescue
# would fail). We defer only when no job of the mailbox is waiting or running instead.
_PENDING = text(
    "SELECT lock FROM procrastinate_jobs WHERE lock = ANY(:locks) AND status IN ('todo', 'doing')"
)


async def without_job(session: AsyncSession, mailbox_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The mailboxes with no delivery job waiting or running."""
    if not mailbox_ids:
        return []
    locks = [mailbox_lock(m) for m in mailbox_ids]
    pending = set(await session.scalars(_PENDING, {"locks": locks}))
    return [m for m in mailbox_ids if mailbox_lock(m) not in pending]


async def kick(session: AsyncSession, mailbox_id: uuid.UUID) -> bool:
    """Defer delivery for this mailbox in the session's transaction (after queueing messages, so
    they leave without waiting for the dispatcher). False when a job of this mailbox is already
    waiting or running."""
    if not await without_job(session, [mailbox_id]):
        return False
    await jobs.defer(session, DELIVER, lock=mailbox_lock(mailbox_id), mailbox_id=str(mailbox_id))
    return True


async def wake(session: AsyncSession, mailbox_id: uuid.UUID, now: datetime) -> None:
    """The dispatcher looks at this mailbox at its next turn even when it waits for its window
    or its gap: for a message that may leave at once (a person's reply), in case the job that
    `kick` found waiting or running has already made its last claim."""
    await session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.next_send_at > now)
        .values(next_send_at=now)
    )


class Queue:
    """Outbound messages built one by one and inserted together: one statement for their
    unsubscribe tokens and one for the messages, which skips any (enrollment, step) already
    recorded, so a re-run or a concurrent producer never doubles a step."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.rows: list[dict[str, Any]] = []
        self.tokens: list[dict[str, Any]] = []

    def add(self, item: Outbound) -> uuid.UUID:
        channel = channel_of(item.mailbox.channel)
        token = unsubscribe.new_token()
        self.tokens.append(
            {
                "token": token,
                "workspace_id": item.workspace_id,
                "lead_id": item.lead_id,
                "email": item.unsubscribe_email or item.to,
            }
        )
        message_id = uuid.uuid4()
        self.rows.append(
            {
                "id": message_id,
                "workspace_id": item.workspace_id,
                "enrollment_id": item.enrollment_id,
                "step_id": item.step_id,
                "variant_id": item.variant_id,
                "lead_id": item.lead_id,
                "mailbox_id": item.mailbox.id,
                "channel": channel.name,
                "direction": "outbound",
                "status": MessageStatus.queued,
                "provider": item.mailbox.provider,
                "send_after": item.send_after,
                "attempts": 0,
                **channel.compose(self.settings, item, token),
            }
        )
        return message_id

    def mailbox_ids(self) -> set[uuid.UUID]:
        return {row["mailbox_id"] for row in self.rows}

    async def flush(self) -> int:
        """Insert what was added; the number of messages really inserted."""
        if not self.rows:
            return 0
        await self.session.execute(insert(UnsubscribeToken), self.tokens)
        statement = (
            insert(Message)
            .on_conflict_do_nothing(
                index_elements=["enrollment_id", "step_id"],
                index_where=text("direction = 'outbound'"),
            )
            .returning(Message.id)
        )
        inserted = await self.session.execute(statement, self.rows)
        self.rows, self.tokens = [], []
        return len(inserted.all())


async def queue(session: AsyncSession, settings: Settings, item: Outbound) -> uuid.UUID:
    """Queue one outbound message (a test send, a manual reply); its id."""
    batch = Queue(session, settings)
    message_id = batch.add(item)
    await batch.flush()
    return message_id


class NotRequeueable(Conflict):
    code = "message_not_requeueable"
    message = (
        "Only an unconfirmed message can be queued again: this one's outcome is known (or it "
        "has not been attempted yet)."
    )


async def requeue(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    by: CurrentMember,
    now: datetime,
) -> Message:
    """A person queues an `unconfirmed` message again (they checked that it did not arrive): it
    goes through every check of a new send (suppression, stops, window, cap). Audited."""
    message = await get_scoped(
        session, Message, workspace_id, message_id, error=MessageNotFound, for_update=True
    )
    if message.status != MessageStatus.unconfirmed:
        raise NotRequeueable(details={"status": message.status.value})
    message.status, message.send_after, message.error = MessageStatus.queued, now, None
    message.sending_started_at = None
    await session.flush()
    await audit.record(
        session, "message.requeued", actor=by, target_type="message", target_id=message.id,
        details={"to": message.to_address},
    )  # fmt: skip
    if message.mailbox_id is not None:
        await kick(session, message.mailbox_id)
    return message
