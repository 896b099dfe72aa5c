from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from leadflood.models import MessageStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.sending import outbox
from leadflood.sending import service as sending
from leadflood.sending.schemas import AttemptRead, MessageDetail, MessageRead
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/messages", tags=["messages"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=Page[MessageRead])
async def list_messages(
    member: ViewerDep,
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    status: MessageStatus | None = None,
    mailbox_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
) -> Page[MessageRead]:
    page = await outbox.list_messages(
        session,
        member.workspace_id,
        limit=limit,
        cursor=cursor,
        status=status,
        mailbox_id=mailbox_id,
        lead_id=lead_id,
    )
    return Page[MessageRead].of(page, MessageRead.model_validate)


@router.get("/{message_id}", response_model=MessageDetail)
async def get_message(
    message_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> MessageDetail:
    message, attempts = await outbox.get_message(session, member.workspace_id, message_id)
    detail = MessageDetail.model_validate(message)
    detail.delivery_attempts = [AttemptRead.model_validate(a) for a in attempts]
    return detail


@router.post("/{message_id}/requeue", response_model=MessageRead, dependencies=[Idempotent])
async def requeue_message(
    message_id: uuid.UUID, member: MemberDep, session: SessionDep
) -> MessageRead:
    """Queue an `unconfirmed` message again, once you know it did not arrive (409 otherwise)."""
    message = await sending.requeue(
        session, member.workspace_id, message_id, by=member, now=datetime.now(UTC)
    )
    return MessageRead.model_validate(message)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
