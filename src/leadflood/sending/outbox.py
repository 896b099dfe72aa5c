"""Reading messages and suppressions for the API and the Outbox page."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.errors import NotFound
from leadflood.models import DeliveryAttempt, Message, MessageStatus
from leadflood.pagination import Window, newest_first, page_of


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found."


async def list_messages(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    status: MessageStatus | None = None,
    mailbox_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
) -> Window[Message]:
    query = scoped(Message, workspace_id)
    if status is not None:
        query = query.where(Message.status == status)
    if mailbox_id is not None:
        query = query.where(Message.mailbox_id == mailbox_id)
    if lead_id is not None:
        query = query.where(Message.lead_id == lead_id)
    query = newest_first(query, Message.created_at, Message.id, cursor=cursor, limit=limit)
    rows = list(await session.scalars(query))
    return page_of(rows, limit, cursor)


async def get_message(
    session: AsyncSession, workspace_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[Message, list[DeliveryAttempt]]:
    message = await get_scoped(session, Message, workspace_id, message_id, error=MessageNotFound)
    attempts = list(
        await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.message_id == message.id)
            .order_by(DeliveryAttempt.attempt, DeliveryAttempt.at)
        )
    )
    return message, attempts


async def counts_by_status(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(Message.status, func.count())
        .where(in_workspace(Message, workspace_id))
        .group_by(Message.status)
    )
    return {status.value: int(count) for status, count in rows}
