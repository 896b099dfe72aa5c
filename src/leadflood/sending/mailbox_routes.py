"""The mailbox endpoints beyond CRUD (which lives in routes.py): an on-demand login check,
health, and the sender domain's DNS records."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from leadflood.deps import AdminDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.sending import mailbox_checks, mailboxes
from leadflood.sending.mailbox_checks import MailboxCheck
from leadflood.sending.schemas import DnsCheckRead, MailboxHealth

router = APIRouter(prefix="/v1")


@router.post("/mailboxes/{mailbox_id}/check", response_model=MailboxCheck, tags=["mailboxes"])
async def check_mailbox(
    mailbox_id: uuid.UUID, member: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> MailboxCheck:
    """Connects and logs in (SMTP) or builds the API client (HTTP providers) with the saved
    settings; `ok: false` carries the error to fix."""
    return await mailbox_checks.check(session, runtime.settings, member.workspace_id, mailbox_id)


@router.get("/mailboxes/{mailbox_id}/health", response_model=MailboxHealth, tags=["mailboxes"])
async def mailbox_health(
    mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> MailboxHealth:
    """Sent today against today's cap (with warm-up), bounce rates, last error, state."""
    mailbox = await mailboxes.get(session, member.workspace_id, mailbox_id)
    return (await mailboxes.health(session, [mailbox]))[mailbox.id]


@router.get("/mailboxes/{mailbox_id}/dns", response_model=DnsCheckRead, tags=["mailboxes"])
async def mailbox_dns(
    mailbox_id: uuid.UUID, member: ViewerDep, session: SessionDep
) -> DnsCheckRead:
    """SPF, DMARC and DKIM of the sender domain, looked up now (3 s timeout) and kept as the
    mailbox's `dns_checks`; offline or unreachable DNS answers "unknown"."""
    return DnsCheckRead.model_validate(
        await mailboxes.check_dns(session, member.workspace_id, mailbox_id)
    )
