"""The mailbox endpoints beyond CRUD (which lives in routes.py): an on-demand login check,
health, and the sender domain's DNS records."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from leadflood.mailboxes import checks as mailbox_checks
from leadflood.mailboxes import service as mailboxes
from leadflood.mailboxes.checks import MailboxCheck
from leadflood.mailboxes.schemas import (
    DnsCheckRead,
    MailboxCreate,
    MailboxHealth,
    MailboxRead,
    MailboxUpdate,
)
from leadflood.models import Mailbox
from leadflood.web.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/mailboxes", tags=["mailboxes"])


@router.post("/{mailbox_id}/check", response_model=MailboxCheck)
async def check_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> MailboxCheck:
    """Connects and logs in (SMTP) or builds the API client (HTTP providers) with the saved
    settings; `ok: false` carries the error to fix."""
    return await mailbox_checks.check(session, member.workspace_id, mailbox_id)


@router.get("/{mailbox_id}/health", response_model=MailboxHealth)
async def mailbox_health(
    mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> MailboxHealth:
    """Sent today against today's cap (with warm-up), bounce rates, last error, state."""
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    return (await mailboxes.health(session, [mailbox]))[mailbox.id]


@router.get("/{mailbox_id}/dns", response_model=DnsCheckRead)
async def mailbox_dns(
    mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> DnsCheckRead:
    """SPF, DMARC and DKIM of the sender domain, looked up now (3 s timeout) and kept as the
    mailbox's `dns_checks`; offline or unreachable DNS answers "unknown"."""
    return DnsCheckRead.model_validate(
        await mailboxes.check_dns(session, member.workspace_id, mailbox_id)
    )


def _mailbox_read(mailbox: Mailbox, health: Any = None) -> MailboxRead:
    return MailboxRead.model_validate(
        {
            **{k: getattr(mailbox, k) for k in MailboxRead.model_fields if hasattr(mailbox, k)},
            "settings": mailboxes.settings_of(mailbox),
            "has_secret": mailbox.secret_id is not None,
            "has_dkim_key": mailbox.dkim_key_id is not None,
            "health": health,
        }
    )


@router.get("", response_model=list[MailboxRead])
async def list_mailboxes(member: ViewerDep, session: SessionDep) -> list[MailboxRead]:
    rows = await mailboxes.list_all(session, member.workspace_id)
    health = await mailboxes.health(session, rows)
    return [_mailbox_read(m, health[m.id]) for m in rows]


@router.post("", status_code=201, response_model=MailboxRead, dependencies=[Idempotent])
async def create_mailbox(data: MailboxCreate, member: AdminDep, session: SessionDep) -> MailboxRead:
    """SMTP mailboxes are checked by connecting and logging in; a failure answers 422."""
    return _mailbox_read(await mailboxes.create(session, member.workspace_id, data))


@router.get("/{mailbox_id}", response_model=MailboxRead)
async def get_mailbox(mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep) -> MailboxRead:
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    health = await mailboxes.health(session, [mailbox])
    return _mailbox_read(mailbox, health[mailbox.id])


@router.patch("/{mailbox_id}", response_model=MailboxRead)
async def update_mailbox(
    mailbox_id: uuid.UUID, data: MailboxUpdate, member: AdminDep, session: SessionDep
) -> MailboxRead:
    return _mailbox_read(await mailboxes.update(session, member.workspace_id, mailbox_id, data))


@router.post("/{mailbox_id}/pause", response_model=MailboxRead)
async def pause_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> MailboxRead:
    return _mailbox_read(await mailboxes.pause(session, member.workspace_id, mailbox_id))


@router.post("/{mailbox_id}/resume", response_model=MailboxRead)
async def resume_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> MailboxRead:
    return _mailbox_read(await mailboxes.resume(session, member.workspace_id, mailbox_id))


@router.delete("/{mailbox_id}", status_code=204)
async def delete_mailbox(mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep) -> Response:
    await mailboxes.delete(session, member.workspace_id, mailbox_id)
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
