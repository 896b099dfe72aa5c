"""Account mail (password resets, email verification, invitations) through the instance's
system mailbox: SYSTEM_SMTP_URL, or else the demo catcher of `leadflood up --demo` (found by
its demo mailbox, so any API process reaches it). With neither, `MailNotConfigured` says how
to set one up."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.errors import AppError
from leadflood.logging import get_logger
from leadflood.models import Mailbox
from leadflood.providers.base import OutboundEmail, ProviderError
from leadflood.providers.email.smtp import SmtpSender, smtp_settings
from leadflood.settings import Settings

log = get_logger("leadflood.auth.mail")

# The demo workspace's mailbox (see leadflood.demo.catcher): its config carries `catcher_dir`.
DEMO_MAILBOX = "Demo mailbox"
DEMO_FROM = "Lead Flood <no-reply@leadflood.local>"
TLS_BY_SCHEME = {"smtp": "starttls", "smtps": "tls", "smtp+plain": "none"}

HOW_TO_CONFIGURE = (
    "Lead Flood has no system mailbox to send account mail: set SYSTEM_SMTP_URL "
    "(smtp://user:pass@host:587) and SYSTEM_MAIL_FROM, or run `leadflood up --demo` to catch it "
    "locally. An owner can set a password with `leadflood users reset-password EMAIL "
    "--password-stdin`."
)


class MailNotConfigured(AppError):
    status = 503
    code = "system_mail_not_configured"
    message = HOW_TO_CONFIGURE


class MailFailed(AppError):
    status = 502
    code = "system_mail_failed"
    message = "The system mailbox did not accept the message."


@dataclass(frozen=True)
class SystemMailbox:
    config: dict[str, Any]
    from_email: str
    from_name: str | None
    # "settings" (SYSTEM_SMTP_URL) or "demo" (the demo catcher).
    source: str

    @property
    def description(self) -> str:
        where = f"{self.config['host']}:{self.config['port']}"
        if self.source == "demo":
            return f"the demo catcher on {where}"
        return f"the system mailbox {where} ({self.config['tls_mode']})"


def _from_url(settings: Settings) -> SystemMailbox | None:
    if not settings.system_smtp_url:
        return None
    parts = urlsplit(settings.system_smtp_url)
    tls_mode = TLS_BY_SCHEME[parts.scheme]
    config: dict[str, Any] = {"host": parts.hostname, "tls_mode": tls_mode, "timeout": 20}
    config["port"] = parts.port or {"starttls": 587, "tls": 465, "none": 25}[tls_mode]
    if parts.username:
        config["username"] = unquote(parts.username)
        config["password"] = unquote(parts.password or "")
    name, address = parseaddr(settings.system_mail_from or "")
    if not address:
        username = str(config.get("username") or "")
        address = username if "@" in username else f"no-reply@{parts.hostname}"
    return SystemMailbox(config, address, name or "Lead Flood", "settings")


async def system_mailbox(session: AsyncSession, settings: Settings) -> SystemMailbox | None:
    configured = _from_url(settings)
    if configured is not None:
        return configured
    demo = await session.scalar(
        select(Mailbox)
        .where(Mailbox.name == DEMO_MAILBOX, Mailbox.provider == "smtp")
        .where(Mailbox.config.has_key("catcher_dir"))
        .order_by(Mailbox.created_at.desc())
        .limit(1)
    )
    if demo is None:
        return None
    config: dict[str, Any] = {
        key: demo.config[key] for key in ("host", "port", "tls_mode") if key in demo.config
    }
    name, address = parseaddr(DEMO_FROM)
    return SystemMailbox({**config, "timeout": 10}, address, name, "demo")


async def require(session: AsyncSession, settings: Settings) -> SystemMailbox:
    mailbox = await system_mailbox(session, settings)
    if mailbox is None:
        raise MailNotConfigured()
    return mailbox


@dataclass(frozen=True)
class AccountMail:
    to: str
    subject: str
    text: str
    # The label of the button the HTML part makes of a link alone in its paragraph.
    action: str = "Open the link"


_TEMPLATES = Environment(
    loader=PackageLoader("leadflood.auth", "mail_templates"), autoescape=select_autoescape()
)
_LINK = re.compile(r"https?://\S+")


def _pieces(line: str) -> list[tuple[str, bool]]:
    """A line as (text, is a link) pieces, so that the addresses in a sentence are links."""
    pieces, at = [], 0
    for found in _LINK.finditer(line):
        pieces += [(line[at : found.start()], False), (found.group(0), True)]
        at = found.end()
    return [*pieces, (line[at:], False)]


def html_of(mail: AccountMail) -> str:
    """The HTML part of an account mail, made from its text: its paragraphs, and a link alone
    in its paragraph as a button (the text part stays what the mail says)."""
    blocks: list[dict[str, Any]] = []
    for paragraph in re.split(r"\n\s*\n", mail.text.strip()):
        words = paragraph.strip()
        if _LINK.fullmatch(words):
            blocks.append({"link": words})
        else:
            blocks.append({"lines": [_pieces(line) for line in words.splitlines()]})
    page = _TEMPLATES.get_template("account.html")
    return page.render(subject=mail.subject, blocks=blocks, action=mail.action)


async def send(mailbox: SystemMailbox, mail: AccountMail) -> str:
    """Hand one message to the system mailbox; its Message-ID."""
    domain = mailbox.from_email.rpartition("@")[2] or "leadflood.local"
    message_id = f"<{uuid.uuid4().hex}@{domain}>"
    email = OutboundEmail(
        message_id=message_id,
        from_email=mailbox.from_email,
        from_name=mailbox.from_name,
        to=[mail.to],
        subject=mail.subject,
        text=mail.text,
        html=html_of(mail),
        headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        async with SmtpSender(smtp_settings(mailbox.config)) as sender:
            await sender.send(email)
    except (ProviderError, OSError) as exc:
        log.warning("account_mail_failed", via=mailbox.source, error=str(exc))
        raise MailFailed(f"{mailbox.description} did not accept the message: {exc}") from exc
    log.info("account_mail_sent", via=mailbox.source, subject=mail.subject)
    return message_id
