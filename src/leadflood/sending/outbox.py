"""Reading messages and suppressions for the API and the Outbox page."""

from __future__ import annotations

import uuid

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import Forbidden, NotFound
from leadflood.models import DeliveryAttempt, Message, MessageStatus, Suppression, SuppressionKind
from leadflood.pagination import Window, newest_first, page_of
from leadflood.sending import suppression


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found."


class SuppressionNotFound(NotFound):
    code = "suppression_not_found"
    message = "Suppression not found."


class GlobalSuppressionForbidden(Forbidden):
    code = "global_suppression_forbidden"
    message = (
        "Instance-wide suppressions need the owner role and ALLOW_GLOBAL_SUPPRESSIONS=true "
        "(or the command line on the server)."
    )


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
        .where(Message.workspace_id == workspace_id)
        .group_by(Message.status)
    )
    return {status.value: int(count) for status, count in rows}


def _visible(workspace_id: uuid.UUID) -> object:
    return or_(Suppression.workspace_id == workspace_id, Suppression.workspace_id.is_(None))


async def list_suppressions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    kind: SuppressionKind | None = None,
    search: str | None = None,
) -> Window[Suppression]:
    """This workspace's entries and the instance-wide ones."""
    query = select(Suppression).where(_visible(workspace_id))  # type: ignore[arg-type]
    if kind is not None:
        query = query.where(Suppression.kind == kind)
    if search:
        query = query.where(Suppression.value.contains(search.strip().lower()))
    query = newest_first(query, Suppression.created_at, Suppression.id, cursor=cursor, limit=limit)
    rows = list(await session.scalars(query))
    return page_of(rows, limit, cursor)


async def delete_suppression(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    suppression_id: uuid.UUID,
    *,
    may_global: bool,
    by: CurrentMember,
) -> None:
    """Only people remove entries, so every removal is in the audit log."""
    row = await session.scalar(
        select(Suppression).where(Suppression.id == suppression_id, _visible(workspace_id))  # type: ignore[arg-type]
    )
    if row is None:
        raise SuppressionNotFound()
    if row.workspace_id is None and not may_global:
        raise GlobalSuppressionForbidden()
    details = suppression.entry_details(row) | {"source": row.source}
    await session.execute(sql_delete(Suppression).where(Suppression.id == row.id))
    await suppression.record_change(session, by, "suppression.removed", details, target_id=row.id)
