"""The mailbox endpoints: CRUD (IMAP settings included), an on-demand login check, health, the
sender domain's DNS records, and "sync now" of the replies read over IMAP."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from leadflood.mailboxes import checks as mailbox_checks
from leadflood.mailboxes import imap as mailbox_imap
from leadflood.mailboxes import service as mailboxes
from leadflood.mailboxes.checks import MailboxCheck
from leadflood.mailboxes.schemas import (
    DnsCheckRead,
    MailboxCreate,
    MailboxHealth,
    MailboxRead,
    MailboxUpdate,
    SyncStarted,
)
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


async def _read(session: SessionDep, mailbox_id: uuid.UUID, workspace_id: uuid.UUID) -> MailboxRead:
    mailbox = await mailboxes.get(session, workspace_id, mailbox_id)
    return (await mailboxes.read_all(session, [mailbox]))[0]


@router.get("", response_model=list[MailboxRead])
async def list_mailboxes(member: ViewerDep, session: SessionDep) -> list[MailboxRead]:
    rows = await mailboxes.list_all(session, member.workspace_id)
    return await mailboxes.read_all(session, rows)


@router.post("", status_code=201, response_model=MailboxRead, dependencies=[Idempotent])
async def create_mailbox(data: MailboxCreate, member: AdminDep, session: SessionDep) -> MailboxRead:
    """Checked before it is saved: SMTP mailboxes by connecting and logging in, and with
    `imap`, by logging in to the IMAP server and opening its folders. A failure answers 422
    (`mailbox_check_failed`, or `imap_login_failed`, `imap_unreachable`, `imap_timeout`,
    `imap_tls_failed`, `imap_folder_missing`) and nothing is saved."""
    mailbox = await mailboxes.create(session, member.workspace_id, data, by=member)
    return await _read(session, mailbox.id, member.workspace_id)


@router.get("/{mailbox_id}", response_model=MailboxRead)
async def get_mailbox(mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep) -> MailboxRead:
    """With its health and, when it reads replies, each watched folder's sync status: last
    good sync, last error, and what the last recovery scan found."""
    return await _read(session, mailbox_id, member.workspace_id)


@router.patch("/{mailbox_id}", response_model=MailboxRead)
async def update_mailbox(
    mailbox_id: uuid.UUID, data: MailboxUpdate, member: AdminDep, session: SessionDep
) -> MailboxRead:
    """Changed IMAP settings are checked by a real login (422 as on create; nothing saved)."""
    await mailboxes.update(session, member.workspace_id, mailbox_id, data, by=member)
    return await _read(session, mailbox_id, member.workspace_id)


@router.post(
    "/{mailbox_id}/sync", status_code=202, response_model=SyncStarted, dependencies=[Idempotent]
)
async def sync_mailbox(mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep) -> SyncStarted:
    """Read new replies now (over IMAP) instead of at the next poll; the job's id. 409
    `imap_not_configured` when the mailbox has no IMAP settings."""
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    return SyncStarted(job_id=await mailbox_imap.request_sync(session, mailbox, by=member))


@router.post("/{mailbox_id}/pause", response_model=MailboxRead)
async def pause_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> MailboxRead:
    await mailboxes.pause(session, member.workspace_id, mailbox_id, by=member)
    return await _read(session, mailbox_id, member.workspace_id)


@router.post("/{mailbox_id}/resume", response_model=MailboxRead)
async def resume_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> MailboxRead:
    await mailboxes.resume(session, member.workspace_id, mailbox_id, by=member)
    return await _read(session, mailbox_id, member.workspace_id)


@router.delete("/{mailbox_id}", status_code=204)
async def delete_mailbox(mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep) -> Response:
    await mailboxes.delete(session, member.workspace_id, mailbox_id, by=member)
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
