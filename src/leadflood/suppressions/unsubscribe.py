"""Unsubscribe links and headers (RFC 8058 one-click, RFC 2369 mailto), and the unsubscribe
itself: the address is suppressed and everything planned for the person stops at once."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events
from leadflood.errors import NotFound
from leadflood.models import SuppressionKind, UnsubscribeToken
from leadflood.settings import Settings
from leadflood.suppressions import service as suppression
from leadflood.suppressions import stops

SUBJECT_PREFIX = "unsubscribe-"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_SUBJECT_TOKEN = re.compile(r"unsubscribe-([A-Za-z0-9_-]{20,64})")


class UnsubscribeLinkNotFound(NotFound):
    code = "unsubscribe_link_not_found"
    message = "This unsubscribe link is not valid."


@dataclass(frozen=True)
class Unsubscribed:
    email: str
    workspace_id: uuid.UUID
    enrollments_stopped: int
    messages_cancelled: int
    already: bool


def url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/u/{token}"


def new_token() -> str:
    """An opaque, unguessable unsubscribe token (stored; it means nothing by itself)."""
    return secrets.token_urlsafe(24)


async def issue_token(
    session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID | None, email: str
) -> str:
    """A new opaque token for this recipient, stored (one per message is fine: they are tiny)."""
    token = new_token()
    session.add(
        UnsubscribeToken(token=token, workspace_id=workspace_id, lead_id=lead_id, email=email)
    )
    await session.flush()
    return token


def headers(settings: Settings, token: str, *, mailto: str) -> dict[str, str]:
    return {
        "List-Unsubscribe": (
            f"<{url(settings, token)}>, <mailto:{mailto}?subject={SUBJECT_PREFIX}{token}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def footer(settings: Settings, token: str, postal_address: str) -> tuple[str, str]:
    """(text, html) to append to a message body: the postal address and the unsubscribe link."""
    link = url(settings, token)
    address = postal_address.strip()
    text = "\n\n--\n"
    if address:
        text += address + "\n"
    text += f"Unsubscribe: {link}\n"
    address_html = "<br>".join(html.escape(line) for line in address.splitlines())
    html_part = (
        '<div style="margin-top:24px;font-size:12px;color:#6b7280">'
        + (f"<p>{address_html}</p>" if address else "")
        + f'<p><a href="{html.escape(link)}">Unsubscribe</a></p></div>'
    )
    return text, html_part


async def find(session: AsyncSession, token: str) -> UnsubscribeToken:
    if not _TOKEN.match(token):
        raise UnsubscribeLinkNotFound()
    row = await session.get(UnsubscribeToken, token)
    if row is None:
        raise UnsubscribeLinkNotFound()
    return row


async def unsubscribe(
    session: AsyncSession, token: str, *, source: str = "one_click", now: datetime | None = None
) -> Unsubscribed:
    """Suppress the token's address in its workspace and stop every enrollment and queued
    message of that person. Idempotent: a second call changes nothing more."""
    now = now or datetime.now(UTC)
    row = await find(session, token)
    already = row.used_at is not None
    await suppression.add(
        session, row.workspace_id, SuppressionKind.email, row.email, "unsubscribed", source
    )
    stopped, cancelled = await stops.stop_person(
        session,
        row.workspace_id,
        reason="unsubscribed",
        lead_ids=[row.lead_id] if row.lead_id else [],
        emails=[row.email],
        now=now,
    )
    if row.used_at is None:
        row.used_at = now
        await events.emit(
            session, row.workspace_id, events.CONTACT_UNSUBSCRIBED,
            {"email": row.email, "lead_id": row.lead_id, "source": source, "at": now},
        )  # fmt: skip
    await session.flush()
    return Unsubscribed(row.email, row.workspace_id, stopped, cancelled, already)


async def unsubscribe_by_mail(
    session: AsyncSession, subject: str, sender: str | None = None
) -> Unsubscribed | None:
    """For the inbox: a mail to the List-Unsubscribe mailto address. The token in the subject
    identifies the recipient (whoever sends it: forwarding is common); None when there is none."""
    match = _SUBJECT_TOKEN.search(subject or "")
    if match is None:
        return None
    try:
        return await unsubscribe(session, match.group(1), source="mailto")
    except UnsubscribeLinkNotFound:
        return None


async def token_email(session: AsyncSession, token: str) -> str:
    row = await find(session, token)
    return row.email


__all__ = [
    "UnsubscribeLinkNotFound",
    "Unsubscribed",
    "footer",
    "headers",
    "issue_token",
    "unsubscribe",
    "unsubscribe_by_mail",
    "url",
]
