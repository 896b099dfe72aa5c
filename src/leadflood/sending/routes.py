from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile as StarletteUpload

from leadflood.deps import AdminDep, MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.models import Mailbox, MessageStatus, Role, Suppression, SuppressionKind
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.sending import mailboxes, outbox, suppression
from leadflood.sending.schemas import (
    AttemptRead,
    MailboxCreate,
    MailboxRead,
    MailboxUpdate,
    MessageDetail,
    MessageRead,
    SuppressionCreate,
    SuppressionImportRead,
    SuppressionRead,
)

router = APIRouter(prefix="/v1")
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


def _mailbox_read(mailbox: Mailbox, health: Any = None) -> MailboxRead:
    return MailboxRead.model_validate(
        {
            **{k: getattr(mailbox, k) for k in MailboxRead.model_fields if hasattr(mailbox, k)},
            "settings": mailboxes.settings_of(mailbox),
            "has_secret": mailbox.secret_ciphertext is not None,
            "has_dkim_key": mailbox.dkim_key_ciphertext is not None,
            "health": health,
        }
    )


@router.get("/mailboxes", response_model=list[MailboxRead], tags=["mailboxes"])
async def list_mailboxes(member: ViewerDep, session: SessionDep) -> list[MailboxRead]:
    rows = await mailboxes.list_all(session, member.workspace_id)
    health = await mailboxes.health(session, rows)
    return [_mailbox_read(m, health[m.id]) for m in rows]


@router.post("/mailboxes", status_code=201, response_model=MailboxRead, tags=["mailboxes"])
async def create_mailbox(data: MailboxCreate, member: AdminDep, session: SessionDep) -> MailboxRead:
    """SMTP mailboxes are checked by connecting and logging in; a failure answers 422."""
    return _mailbox_read(await mailboxes.create(session, member.workspace_id, data))


@router.get("/mailboxes/{mailbox_id}", response_model=MailboxRead, tags=["mailboxes"])
async def get_mailbox(mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep) -> MailboxRead:
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    health = await mailboxes.health(session, [mailbox])
    return _mailbox_read(mailbox, health[mailbox.id])


@router.patch("/mailboxes/{mailbox_id}", response_model=MailboxRead, tags=["mailboxes"])
async def update_mailbox(
    mailbox_id: uuid.UUID, data: MailboxUpdate, member: AdminDep, session: SessionDep
) -> MailboxRead:
    return _mailbox_read(await mailboxes.update(session, member.workspace_id, mailbox_id, data))


@router.post("/mailboxes/{mailbox_id}/pause", response_model=MailboxRead, tags=["mailboxes"])
async def pause_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> MailboxRead:
    return _mailbox_read(await mailboxes.pause(session, member.workspace_id, mailbox_id))


@router.post("/mailboxes/{mailbox_id}/resume", response_model=MailboxRead, tags=["mailboxes"])
async def resume_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> MailboxRead:
    return _mailbox_read(await mailboxes.resume(session, member.workspace_id, mailbox_id))


@router.delete("/mailboxes/{mailbox_id}", status_code=204, tags=["mailboxes"])
async def delete_mailbox(mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep) -> Response:
    await mailboxes.delete(session, member.workspace_id, mailbox_id)
    return Response(status_code=204)


@router.get("/messages", response_model=Page[MessageRead], tags=["messages"])
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


@router.get("/messages/{message_id}", response_model=MessageDetail, tags=["messages"])
async def get_message(
    message_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> MessageDetail:
    message, attempts = await outbox.get_message(session, member.workspace_id, message_id)
    detail = MessageDetail.model_validate(message)
    detail.delivery_attempts = [AttemptRead.model_validate(a) for a in attempts]
    return detail


def _suppression_read(row: Suppression) -> SuppressionRead:
    return SuppressionRead.model_validate(
        {
            **{k: getattr(row, k) for k in SuppressionRead.model_fields if k != "scope"},
            "scope": "global" if row.workspace_id is None else "workspace",
        }
    )


def _may_global(member: Any, runtime: RuntimeDep) -> bool:
    return bool(runtime.settings.allow_global_suppressions and member.role.at_least(Role.owner))


@router.get("/suppressions", response_model=Page[SuppressionRead], tags=["suppressions"])
async def list_suppressions(
    member: ViewerDep,
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    kind: SuppressionKind | None = None,
    q: Annotated[str | None, Query(max_length=320)] = None,
) -> Page[SuppressionRead]:
    page = await outbox.list_suppressions(
        session, member.workspace_id, limit=limit, cursor=cursor, kind=kind, search=q
    )
    return Page[SuppressionRead].of(page, _suppression_read)


@router.post(
    "/suppressions", status_code=201, response_model=SuppressionRead, tags=["suppressions"]
)
async def add_suppression(
    data: SuppressionCreate, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> SuppressionRead:
    """Idempotent: adding an existing value returns the entry as it was. `scope=global` covers
    every workspace and needs the owner role and ALLOW_GLOBAL_SUPPRESSIONS=true."""
    if data.scope == "global" and not _may_global(member, runtime):
        raise outbox.GlobalSuppressionForbidden()
    row = await suppression.add(
        session,
        None if data.scope == "global" else member.workspace_id,
        data.kind,
        data.value,
        data.reason,
        f"api:{member.label}",
        note=data.note,
        by=member,
    )
    return _suppression_read(row)


@router.delete("/suppressions/{suppression_id}", status_code=204, tags=["suppressions"])
async def delete_suppression(
    suppression_id: uuid.UUID, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await outbox.delete_suppression(
        session,
        member.workspace_id,
        suppression_id,
        may_global=_may_global(member, runtime),
        by=member,
    )
    return Response(status_code=204)


@router.post("/suppressions/import", response_model=SuppressionImportRead, tags=["suppressions"])
async def import_suppressions(
    request: Request,
    member: MemberDep,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: Annotated[str, Query(pattern="^(workspace|global)$")] = "workspace",
) -> SuppressionImportRead:
    """A CSV as the body (text/csv) or as the `file` field of a multipart form: a `value`
    column (or the first column) and an optional `kind` column."""
    if scope == "global" and not _may_global(member, runtime):
        raise outbox.GlobalSuppressionForbidden()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if isinstance(upload, StarletteUpload):
            content = await upload.read()
        else:
            content = str(upload or "").encode()
    else:
        content = await request.body()
    report = await suppression.import_csv(
        session,
        None if scope == "global" else member.workspace_id,
        content,
        source=f"import:{member.label}"[:80],
        by=member,
    )
    return SuppressionImportRead(
        added=report.added, existing=report.existing, rejected=report.rejected
    )
