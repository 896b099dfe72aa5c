"""Reading the inbox: threads by filter in keyset pages (latest activity first), one thread with
its messages, the lead card's enrollments, and who a thread may be assigned to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import get_scoped, in_workspace
from leadflood.errors import NotFound
from leadflood.inbox.schemas import ThreadDetail, ThreadMessage, ThreadRead
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    Membership,
    Message,
    Sequence,
    Thread,
    ThreadState,
    User,
)
from leadflood.pagination import Window, decode_cursor, encode_cursor, window


class ThreadNotFound(NotFound):
    code = "thread_not_found"
    message = "Thread not found."


@dataclass(frozen=True)
class ThreadFilter:
    label: str | None = None
    kind: str | None = None
    unread: bool | None = None
    mailbox_id: uuid.UUID | None = None
    sequence_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    # Only threads nobody is assigned to (ignored when `assignee_id` is given).
    unassigned: bool = False
    state: ThreadState | None = None
    lead_id: uuid.UUID | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        conditions = []
        if self.label is not None:
            conditions.append(Thread.label == self.label)
        if self.kind is not None:
            conditions.append(Thread.kind == self.kind)
        if self.unread is not None:
            conditions.append(Thread.unread.is_(self.unread))
        if self.mailbox_id is not None:
            conditions.append(Thread.mailbox_id == self.mailbox_id)
        if self.sequence_id is not None:
            conditions.append(Thread.sequence_id == self.sequence_id)
        if self.assignee_id is not None:
            conditions.append(Thread.assignee_id == self.assignee_id)
        elif self.unassigned:
            conditions.append(Thread.assignee_id.is_(None))
        if self.state is not None:
            conditions.append(Thread.state == self.state)
        if self.lead_id is not None:
            conditions.append(Thread.lead_id == self.lead_id)
        return query.where(*conditions) if conditions else query


PREVIEW_CHARS = 160
# The latest message's first characters, one index probe per thread (ix_messages_thread).
_PREVIEW = (
    select(func.left(Message.body_text, PREVIEW_CHARS))
    .where(Message.thread_id == Thread.id)
    .order_by(Message.created_at.desc())
    .limit(1)
    .correlate(Thread)
    .scalar_subquery()
)


def _rows(query: Select[Any]) -> Select[Any]:
    return query.add_columns(
        Lead.email, Lead.first_name, Lead.last_name, Lead.company_name, _PREVIEW
    ).outerjoin(Lead, Lead.id == Thread.lead_id)


def read(thread: Thread, email: str | None, first: str | None, last: str | None,
         company: str | None, preview: str | None = None) -> ThreadRead:  # fmt: skip
    name = " ".join(p for p in (first, last) if p) or None
    text = " ".join((preview or "").split()) or None
    return ThreadRead.model_validate(thread).model_copy(
        update={"lead_email": email, "lead_name": name, "company_name": company, "preview": text}
    )


def _cursor(row: ThreadRead, before: bool) -> str:
    return encode_cursor(row.last_message_at, row.id, before=before)


async def list_threads(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    found: ThreadFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> Window[ThreadRead]:
    """Latest activity first (ix_threads_workspace_last); `cursor` as in `pagination`."""
    query = _rows(select(Thread).where(in_workspace(Thread, workspace_id)))
    query = found.apply(query)
    at_key = tuple_(Thread.last_message_at, Thread.id)
    before = False
    if cursor:
        at, at_id, before = decode_cursor(cursor)
        bound = tuple_(literal(at), literal(at_id))
        query = query.where(at_key > bound if before else at_key < bound)
    if before:
        query = query.order_by(Thread.last_message_at, Thread.id)
    else:
        query = query.order_by(Thread.last_message_at.desc(), Thread.id.desc())
    rows = [read(*row) for row in await session.execute(query.limit(limit + 1))]
    return window(rows, limit, cursor=cursor, before=before, encode=_cursor)


async def neighbours(
    session: AsyncSession, workspace_id: uuid.UUID, thread: Thread, found: ThreadFilter
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(the thread above, the thread below) this one in the list with this filter."""
    here = encode_cursor(thread.last_message_at, thread.id)
    above = await list_threads(
        session, workspace_id, found, limit=1, cursor=encode_cursor(
            thread.last_message_at, thread.id, before=True
        )
    )  # fmt: skip
    below = await list_threads(session, workspace_id, found, limit=1, cursor=here)
    return (
        above.items[0].id if above.items else None,
        below.items[0].id if below.items else None,
    )


async def get_thread(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    thread_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Thread:
    return await get_scoped(
        session, Thread, workspace_id, thread_id, error=ThreadNotFound, for_update=for_update
    )


async def thread_read(session: AsyncSession, thread: Thread) -> ThreadRead:
    row = (await session.execute(_rows(select(Thread).where(Thread.id == thread.id)))).one()
    return read(*row)


async def messages_of(session: AsyncSession, thread: Thread) -> list[Message]:
    """The thread's messages, oldest first: when they left or arrived, else when queued."""
    when = func.coalesce(Message.sent_at, Message.created_at)
    query = (
        select(Message)
        .where(in_workspace(Message, thread.workspace_id), Message.thread_id == thread.id)
        .order_by(when, Message.seq)
        .limit(1000)
    )
    return list((await session.scalars(query)).all())


async def thread_detail(session: AsyncSession, thread: Thread) -> ThreadDetail:
    head = await thread_read(session, thread)
    history = await messages_of(session, thread)
    return ThreadDetail(
        **head.model_dump(), messages=[ThreadMessage.model_validate(m) for m in history]
    )


async def latest_inbound(session: AsyncSession, thread: Thread) -> Message | None:
    query = (
        select(Message)
        .where(
            in_workspace(Message, thread.workspace_id),
            Message.thread_id == thread.id,
            Message.direction == "inbound",
        )
        .order_by(Message.sent_at.desc().nulls_last(), Message.seq.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


@dataclass(frozen=True)
class EnrollmentLine:
    id: uuid.UUID
    sequence_id: uuid.UUID
    sequence_name: str
    state: EnrollmentState
    stop_reason: str | None
    next_step: int
    last_sent_at: datetime | None
    stopped_at: datetime | None


async def enrollments_of(
    session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID
) -> list[EnrollmentLine]:
    rows = await session.execute(
        select(
            Enrollment.id,
            Enrollment.sequence_id,
            Sequence.name,
            Enrollment.state,
            Enrollment.stop_reason,
            Enrollment.next_step,
            Enrollment.last_sent_at,
            Enrollment.stopped_at,
        )
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(in_workspace(Enrollment, workspace_id), Enrollment.lead_id == lead_id)
        .order_by(Enrollment.created_at.desc())
        .limit(50)
    )
    return [EnrollmentLine(*row) for row in rows]


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    name: str
    email: str


async def members(session: AsyncSession, workspace_id: uuid.UUID) -> list[Member]:
    """Who a thread may be assigned to."""
    rows = await session.execute(
        select(User.id, User.name, User.email)
        .join(Membership, and_(Membership.user_id == User.id))
        .where(in_workspace(Membership, workspace_id))
        .order_by(func.lower(func.coalesce(User.name, User.email)))
    )
    return [Member(uid, name or email, email) for uid, name, email in rows]
