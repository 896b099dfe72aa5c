from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from leadflood.inbox import queries, reclassify
from leadflood.inbox import service as inbox
from leadflood.inbox.queries import ThreadFilter
from leadflood.inbox.rules import RULES_VERSION
from leadflood.inbox.schemas import (
    ClassificationUpdate,
    CorrectionRead,
    Reclassifying,
    ReplyRequest,
    ThreadDetail,
    ThreadMessage,
    ThreadRead,
    ThreadUpdate,
)
from leadflood.models import ThreadState
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/threads", tags=["inbox"])
messages = APIRouter(prefix="/v1/messages", tags=["inbox"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]
Label = Annotated[str | None, Query(max_length=40)]


@router.get("", response_model=Page[ThreadRead])
async def list_threads(
    member: ViewerDep,
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    label: Label = None,
    kind: Label = None,
    unread: bool | None = None,
    mailbox_id: uuid.UUID | None = None,
    sequence_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    unassigned: bool = False,
    state: ThreadState | None = None,
    lead_id: uuid.UUID | None = None,
) -> Page[ThreadRead]:
    """Threads of every mailbox of the workspace, latest activity first."""
    found = ThreadFilter(
        label=label, kind=kind, unread=unread, mailbox_id=mailbox_id, sequence_id=sequence_id,
        assignee_id=assignee_id, unassigned=unassigned, state=state, lead_id=lead_id,
    )  # fmt: skip
    page = await queries.list_threads(
        session, member.workspace_id, found, limit=limit, cursor=cursor
    )
    return Page[ThreadRead].of(page, lambda row: row)


@router.get("/{thread_id}", response_model=ThreadDetail)
async def get_thread(thread_id: uuid.UUID, member: ViewerDep, session: SessionDep) -> ThreadDetail:
    """The whole history, oldest first; reading it here does not mark it read (PATCH does)."""
    thread = await queries.get_thread(session, member.workspace_id, thread_id)
    return await queries.thread_detail(session, thread)


@router.patch("/{thread_id}", response_model=ThreadRead)
async def update_thread(
    thread_id: uuid.UUID, data: ThreadUpdate, member: MemberDep, session: SessionDep
) -> ThreadRead:
    thread = await inbox.update_thread(session, thread_id, data, by=member)
    return await queries.thread_read(session, thread)


@router.post(
    "/{thread_id}/reply",
    status_code=202,
    response_model=ThreadMessage,
    dependencies=[Idempotent],
)
async def reply(
    thread_id: uuid.UUID,
    data: ReplyRequest,
    member: MemberDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ThreadMessage:
    """Queue a reply through the thread's mailbox (threaded to the latest message received);
    its `status` goes from `queued` to `sent` or `failed`. 409 `recipient_suppressed` when the
    person is suppressed."""
    message = await inbox.reply(
        session, runtime.settings, thread_id, data, by=member, now=datetime.now(UTC)
    )
    return ThreadMessage.model_validate(message)


@messages.post(
    "/reclassify", response_model=Reclassifying, status_code=202, dependencies=[Idempotent]
)
async def reclassify_messages(member: MemberDep, session: SessionDep) -> Reclassifying:
    """Classify the workspace's inbound mail again with the current rules, in the background:
    messages a person corrected are left as they are; a message now read as an opt-out or a
    hard bounce suppresses (its label alone changes otherwise). 409 `reclassify_queued` while
    one waits."""
    job_id, stale = await reclassify.start(session, member.workspace_id)
    return Reclassifying(job_id=job_id, messages=stale, version=RULES_VERSION)


@messages.put("/{message_id}/classification", response_model=CorrectionRead)
async def correct_classification(
    message_id: uuid.UUID, data: ClassificationUpdate, member: MemberDep, session: SessionDep
) -> CorrectionRead:
    """A person's correction of an inbound message's kind and label, kept with who and when;
    the thread's label follows its latest inbound message. The new label's effects apply as
    the rules' would (`applied`: a reply stops the enrollment, an opt-out or a hard bounce
    suppresses, an out-of-office pauses); the former label's are not undone (`not_undone`
    says which still hold and how to undo each by hand). The same label again changes
    nothing."""
    done = await inbox.correct(session, message_id, data, by=member, now=datetime.now(UTC))
    return CorrectionRead.of(done.message, done.effects, done.in_place)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router, messages]
