"""Mailboxes (sender accounts): create and update with validation, secrets encrypted at rest,
SMTP logins really checked when saved, pause/resume, health and DNS checks."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit, credentials
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import Conflict, InvalidInput, NotFound
from leadflood.mailboxes import capacity, dns
from leadflood.mailboxes import imap as mailbox_imap
from leadflood.mailboxes import secrets as mailbox_secrets
from leadflood.mailboxes.schemas import (
    MailboxCreate,
    MailboxFields,
    MailboxHealth,
    MailboxRead,
    MailboxUpdate,
)
from leadflood.models import Breaker, Mailbox, MailboxFolder, MailboxState, Message, MessageStatus
from leadflood.providers.base import ProviderError
from leadflood.providers.email import build_email_sender, check_smtp_login
from leadflood.settings import Settings
from leadflood.system.schemas import BreakerRead

# Non-secret provider settings kept in `config`; secrets never go there.
CONFIG_KEYS = (
    "host",
    "port",
    "tls_mode",
    "username",
    "message_stream",
    "base_url",
    "postal_address",
)
COLUMNS = (
    "name", "from_name", "from_email", "reply_to", "signature", "daily_cap", "min_gap_seconds",
    "jitter_seconds", "window", "timezone", "warmup_enabled", "warmup_start", "warmup_increment",
    "warmup_started_on", "dkim_selector", "dkim_domain",
)  # fmt: skip
CONNECTION_FIELDS = frozenset(
    {"host", "port", "tls_mode", "username", "password", "api_key", "dkim_selector",
     "dkim_domain", "dkim_private_key", "base_url"}
)  # fmt: skip
SmtpCheck = Callable[[dict[str, Any]], Awaitable[None]]


class MailboxNotFound(NotFound):
    code = "mailbox_not_found"
    message = "Mailbox not found."


class MailboxCheckFailed(InvalidInput):
    code = "mailbox_check_failed"
    message = "The mailbox settings do not work."


class MailboxStateConflict(Conflict):
    code = "invalid_mailbox_transition"


def _settings(session: AsyncSession) -> Settings:
    settings: Settings = session.info["settings"]
    return settings


async def get(session: AsyncSession, workspace_id: uuid.UUID, mailbox_id: uuid.UUID) -> Mailbox:
    return await get_scoped(session, Mailbox, workspace_id, mailbox_id, error=MailboxNotFound)


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[Mailbox]:
    return list(await session.scalars(scoped(Mailbox, workspace_id).order_by(Mailbox.name)))


def _apply(mailbox: Mailbox, data: MailboxFields) -> None:
    given = data.model_dump(exclude_unset=True)
    for name in COLUMNS:
        if name in given:
            value = given[name]
            setattr(
                mailbox, name, str(value) if name in ("from_email", "reply_to") and value else value
            )
    config = dict(mailbox.config or {})
    for key in CONFIG_KEYS:
        if key in given:
            if given[key] in (None, ""):
                config.pop(key, None)
            else:
                config[key] = given[key]
    mailbox.config = config
    if mailbox.warmup_enabled and mailbox.warmup_started_on is None:
        mailbox.warmup_started_on = datetime.now(UTC).date()


async def check_sender(
    session: AsyncSession, mailbox: Mailbox, smtp_check: SmtpCheck | None
) -> None:
    """Build the sender (catches missing keys, bad DKIM PEM) and, for SMTP, log in for real."""
    config = await mailbox_secrets.sender_config(session, mailbox)
    try:
        sender = build_email_sender(mailbox.provider, config)
        close = getattr(sender, "aclose", None)
        if close is not None:
            await close()
        if mailbox.provider == "smtp":
            await (smtp_check or check_smtp_login)(config)
    except ProviderError as exc:
        raise MailboxCheckFailed(str(exc), details={"code": exc.code}) from exc


async def _audit(
    session: AsyncSession, action: str, mailbox: Mailbox, data: MailboxFields,
    by: CurrentMember | None,
) -> None:  # fmt: skip
    """Which fields changed (never their values: some are secrets)."""
    changed = sorted(data.model_fields_set)
    if data.imap is not None:
        changed += [f"imap.{k}" for k in sorted(data.imap.model_fields_set)]
    await audit.record(
        session, action, actor=by, workspace_id=mailbox.workspace_id, target_type="mailbox",
        target_id=mailbox.id, details={"fields": changed},
    )  # fmt: skip


async def create(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    data: MailboxCreate,
    *,
    smtp_check: SmtpCheck | None = None,
    by: CurrentMember | None = None,
) -> Mailbox:
    """Checked before it is saved: the SMTP login (or API client) and, with `imap`, a real
    IMAP login and its folders; a failure raises and nothing is saved."""
    mailbox = Mailbox(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        provider=data.provider,
        name=data.name,
        from_email=str(data.from_email),
        config={},
        window={},
        dns_checks={},
        signature="",
    )
    _apply(mailbox, data)
    await mailbox_secrets.store(
        session,
        mailbox,
        secret=data.password if data.provider == "smtp" else data.api_key,
        dkim_key=data.dkim_private_key,
    )
    await check_sender(session, mailbox, smtp_check)
    if data.imap is not None:
        await mailbox_imap.apply(session, mailbox, data.imap)
    session.add(mailbox)
    await session.flush()
    await _audit(session, "mailbox.created", mailbox, data, by)
    return mailbox


async def update(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    data: MailboxUpdate,
    *,
    smtp_check: SmtpCheck | None = None,
    by: CurrentMember | None = None,
) -> Mailbox:
    """`imap` absent leaves reading replies as it is; null stops it; an object replaces the
    settings (its password omitted keeps the saved one) after a real login."""
    mailbox = await get_scoped(
        session, Mailbox, workspace_id, mailbox_id, error=MailboxNotFound, for_update=True
    )
    _apply(mailbox, data)
    secret = data.password if mailbox.provider == "smtp" else data.api_key
    await mailbox_secrets.store(session, mailbox, secret=secret, dkim_key=data.dkim_private_key)
    if CONNECTION_FIELDS & data.model_fields_set:
        await check_sender(session, mailbox, smtp_check)
        if mailbox.state == MailboxState.error:
            mailbox.state, mailbox.last_error = MailboxState.active, None
    if "imap" in data.model_fields_set:
        await mailbox_imap.apply(session, mailbox, data.imap)
    elif (mailbox.imap or {}).get("same_as_smtp") and CONNECTION_FIELDS & data.model_fields_set:
        await mailbox_imap.check_login(session, mailbox)  # the SMTP login it shares changed
    await session.flush()
    await _audit(session, "mailbox.updated", mailbox, data, by)
    return mailbox


async def _record(
    session: AsyncSession, action: str, mailbox: Mailbox, by: CurrentMember | None, **details: Any
) -> None:
    await audit.record(
        session, action, actor=by, workspace_id=mailbox.workspace_id, target_type="mailbox",
        target_id=mailbox.id, details={"name": mailbox.name, **details},
    )  # fmt: skip


async def pause(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    *,
    by: CurrentMember | None = None,
) -> Mailbox:
    mailbox = await get_scoped(
        session, Mailbox, workspace_id, mailbox_id, error=MailboxNotFound, for_update=True
    )
    before = mailbox.state
    mailbox.state = MailboxState.paused
    await session.flush()
    await _record(session, "mailbox.paused", mailbox, by, previous_state=before.value)
    return mailbox


async def resume(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    *,
    smtp_check: SmtpCheck | None = None,
    by: CurrentMember | None = None,
) -> Mailbox:
    """Back to active; a mailbox in error is checked again first (still broken: 422)."""
    mailbox = await get_scoped(
        session, Mailbox, workspace_id, mailbox_id, error=MailboxNotFound, for_update=True
    )
    if mailbox.state == MailboxState.error:
        await check_sender(session, mailbox, smtp_check)
    before = mailbox.state
    mailbox.state, mailbox.last_error, mailbox.next_send_at = MailboxState.active, None, None
    await session.flush()
    await _record(session, "mailbox.resumed", mailbox, by, previous_state=before.value)
    return mailbox


async def delete(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    *,
    by: CurrentMember | None = None,
) -> None:
    mailbox = await get(session, workspace_id, mailbox_id)
    waiting = await session.scalar(
        select(func.count()).where(
            Message.mailbox_id == mailbox.id,
            Message.status.in_([MessageStatus.queued, MessageStatus.sending]),
        )
    )
    if waiting:
        raise MailboxStateConflict(
            f"{waiting} message(s) are still waiting to leave from this mailbox; pause it and "
            "wait, or stop their enrollments first."
        )
    secrets = (mailbox.secret_id, mailbox.dkim_key_id, mailbox.imap_secret_id)
    await _record(session, "mailbox.deleted", mailbox, by, from_email=mailbox.from_email)
    await session.delete(mailbox)
    await session.flush()
    for credential_id in secrets:
        await credentials.forget(session, credential_id)


async def health(
    session: AsyncSession, mailboxes: list[Mailbox], now: datetime | None = None
) -> dict[uuid.UUID, MailboxHealth]:
    now = now or datetime.now(UTC)
    ids = [m.id for m in mailboxes]
    sent = await capacity.sent_today(session, ids, now)
    week = dict(
        (row[0], (row[1], row[2]))
        for row in await session.execute(
            select(
                Message.mailbox_id,
                func.count().filter(Message.status == MessageStatus.bounced),
                func.count().filter(
                    Message.status.in_([MessageStatus.sent, MessageStatus.bounced])
                ),
            )
            .where(Message.mailbox_id.in_(ids), Message.updated_at >= now - timedelta(days=7))
            .group_by(Message.mailbox_id)
        )
    )
    tripped = {
        (row.provider, row.account): row
        for row in await session.scalars(
            select(Breaker).where(Breaker.account.in_([str(i) for i in ids]))
        )
    }
    result: dict[uuid.UUID, MailboxHealth] = {}
    for mailbox in mailboxes:
        breaker = tripped.get((mailbox.provider, str(mailbox.id)))
        last = list(
            await session.scalars(
                select(Message.status)
                .where(
                    Message.mailbox_id == mailbox.id,
                    Message.status.in_([MessageStatus.sent, MessageStatus.bounced]),
                )
                .order_by(Message.updated_at.desc())
                .limit(100)
            )
        )
        bounced_7d, total_7d = week.get(mailbox.id, (0, 0))
        today = now.date()
        result[mailbox.id] = MailboxHealth(
            sent_today=sent[mailbox.id],
            remaining_today=capacity.remaining_today(mailbox, sent[mailbox.id], today),
            cap_today=capacity.cap_on(mailbox, today),
            bounce_rate_7d=round(bounced_7d / total_7d, 4) if total_7d else None,
            bounce_rate_last_100=(
                round(last.count(MessageStatus.bounced) / len(last), 4) if last else None
            ),
            last_error=mailbox.last_error,
            state=mailbox.state,
            breaker=BreakerRead.model_validate(breaker) if breaker is not None else None,
        )
    return result


async def check_dns(
    session: AsyncSession, workspace_id: uuid.UUID, mailbox_id: uuid.UUID, *, timeout: float = 3.0
) -> dict[str, Any]:
    mailbox = await get(session, workspace_id, mailbox_id)
    domain = mailbox.dkim_domain or mailbox.from_email.rpartition("@")[2]
    result = await dns.check_domain(domain, dkim_selector=mailbox.dkim_selector, timeout=timeout)
    mailbox.dns_checks = result
    await session.flush()
    return result


def settings_of(mailbox: Mailbox) -> dict[str, Any]:
    return {k: v for k, v in (mailbox.config or {}).items() if k in CONFIG_KEYS}


def to_read(
    session: AsyncSession,
    mailbox: Mailbox,
    *,
    health: MailboxHealth | None = None,
    folders: list[MailboxFolder] | None = None,
) -> MailboxRead:
    """The API's view of a mailbox (secrets never included)."""
    fields = {k: getattr(mailbox, k) for k in MailboxRead.model_fields if hasattr(mailbox, k)}
    return MailboxRead.model_validate(
        fields
        | {
            "settings": settings_of(mailbox),
            "has_secret": mailbox.secret_id is not None,
            "has_dkim_key": mailbox.dkim_key_id is not None,
            "health": health,
            "imap": mailbox_imap.read(mailbox, folders or [], _settings(session)),
        }
    )


async def read_all(session: AsyncSession, mailboxes: list[Mailbox]) -> list[MailboxRead]:
    """`to_read` of each, with its health and IMAP sync status."""
    healths = await health(session, mailboxes)
    folders = await mailbox_imap.folder_states(session, [m.id for m in mailboxes])
    return [to_read(session, m, health=healths[m.id], folders=folders[m.id]) for m in mailboxes]
