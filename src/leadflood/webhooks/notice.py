"""Telling a workspace's owners that one of its webhook endpoints was disabled. The Webhooks
page's banner and the audit log say it in every case; an email goes out as well through the
instance's system mailbox (auth/mail.py: SYSTEM_SMTP_URL, or the demo catcher) when there is
one, and is skipped, with a log line, when there is none."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import mail
from leadflood.logging import get_logger
from leadflood.models import Membership, Role, User
from leadflood.settings import Settings

log = get_logger("leadflood.webhooks")


async def owner_addresses(session: AsyncSession, workspace_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, Membership.role == Role.owner)
        .order_by(User.email)
    )
    return list(rows.all())


async def tell_owners(
    session: AsyncSession, settings: Settings, workspace_id: uuid.UUID, subject: str, text: str
) -> list[str]:
    """Email the workspace's owners through the system mailbox (auth.mail: SYSTEM_SMTP_URL or
    the demo catcher); the addresses that accepted it. Skipped, logged, without a mailbox."""
    owners = await owner_addresses(session, workspace_id)
    mailbox = await mail.system_mailbox(session, settings)
    if mailbox is None or not owners:
        why = "no system mailbox is configured" if mailbox is None else "no owner"
        log.info("system_mail.skipped", reason=why, subject=subject)
        return []
    told = []
    for address in owners:
        try:
            await mail.send(mailbox, mail.AccountMail(to=address, subject=subject, text=text))
        except mail.MailFailed as exc:
            log.warning("system_mail.failed", subject=subject, error=exc.message)
            continue
        told.append(address)
    return told


async def tell_owners_disabled(
    session: AsyncSession, workspace_id: uuid.UUID, url: str, reason: str
) -> list[str]:
    """Emails the workspace's owners that the endpoint at `url` was disabled; the addresses
    written to (none when there is no system mailbox)."""
    settings: Settings = session.info["settings"]
    page = f"{settings.public_url.rstrip('/')}/settings/webhooks"
    text = (
        f"Lead Flood stopped sending webhooks to {url}.\n\n{reason}\n\n"
        f"Fix the receiver, then look at its deliveries and enable it again: {page}\n"
    )
    subject = "A webhook endpoint was disabled"
    return await tell_owners(session, settings, workspace_id, subject, text)
