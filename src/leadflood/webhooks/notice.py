"""Telling a workspace's owners that one of its webhook endpoints was disabled. The Webhooks
page's banner and the audit log say it in every case; an email goes out as well through the
instance's system mailbox (`SYSTEM_SMTP_URL`: smtp://user:password@host:port with STARTTLS,
smtps:// with TLS, `?tls=none` for a local relay) when one is configured, and is skipped, with a
log line, when none is."""

from __future__ import annotations

import uuid
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.logging import get_logger
from leadflood.models import Membership, Role, User
from leadflood.providers.base import OutboundEmail, ProviderError
from leadflood.providers.email.smtp import SmtpSender, smtp_settings
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


async def email_system_mail(settings: Settings, to: list[str], subject: str, text: str) -> bool:
    """Sends a plain-text email from the instance's system mailbox; False (logged) when no
    system mailbox is configured, nobody is to be told, or the server refused it."""
    url: str | None = getattr(settings, "system_smtp_url", None)
    if not url or not to:
        why = "no system mailbox is configured" if not url else "no recipient"
        log.info("system_mail.skipped", reason=why, subject=subject, recipients=len(to))
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    tls = parse_qs(parts.query).get("tls", ["tls" if parts.scheme == "smtps" else "starttls"])
    config = {
        "host": host,
        "port": parts.port,
        "tls_mode": tls[0],
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }
    sender_address = getattr(settings, "system_mail_from", None) or f"leadflood@{host}"
    email = OutboundEmail(
        message_id=make_msgid(domain=sender_address.rpartition("@")[2] or None),
        from_email=sender_address,
        from_name="Lead Flood",
        to=to,
        subject=subject,
        text=text,
    )
    try:
        async with SmtpSender(smtp_settings(config)) as sender:
            await sender.send(email)
    except (ProviderError, OSError) as exc:
        log.warning("system_mail.failed", subject=subject, error=str(exc))
        return False
    log.info("system_mail.sent", subject=subject, recipients=len(to))
    return True


async def tell_owners_disabled(
    session: AsyncSession, workspace_id: uuid.UUID, url: str, reason: str
) -> list[str]:
    """Emails the workspace's owners that the endpoint at `url` was disabled; the addresses
    written to (none when there is no system mailbox)."""
    owners = await owner_addresses(session, workspace_id)
    settings: Settings = session.info["settings"]
    page = f"{settings.public_url.rstrip('/')}/settings/webhooks"
    text = (
        f"Lead Flood stopped sending webhooks to {url}.\n\n{reason}\n\n"
        f"Fix the receiver, then look at its deliveries and enable it again: {page}\n"
    )
    sent = await email_system_mail(settings, owners, "A webhook endpoint was disabled", text)
    return owners if sent else []
