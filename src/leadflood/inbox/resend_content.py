"""Resend's `email.received` webhook carries a received email's envelope only (from, to,
subject, Message-ID). Its content (text, html, and the headers threading and the rules read:
In-Reply-To, References, Auto-Submitted ...) is fetched with the workspace's Resend key and
stored raw, as its own item, before it is processed. Without a Resend mailbox, or when Resend
refuses for good, the envelope alone is processed (matched by sender and subject); a temporary
failure leaves the item to `process_pending`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.inbox import store
from leadflood.inbox.events import RESEND_CONTENT
from leadflood.logging import get_logger
from leadflood.mailboxes import secrets
from leadflood.models import InboundItem, Mailbox
from leadflood.providers.base import PermanentProviderError
from leadflood.providers.email import build_email_sender
from leadflood.providers.email.resend import ResendSender

log = get_logger("leadflood.inbox")


def _email_id(item: InboundItem) -> str | None:
    payload = item.payload or {}
    if item.source != "resend" or payload.get("type") != "email.received":
        return None
    data = payload.get("data") or {}
    email_id = data.get("email_id") if isinstance(data, dict) else None
    return str(email_id) if email_id else None


async def content_of(session: AsyncSession, item: InboundItem) -> InboundItem | None:
    """The content item of an `email.received` item: stored already, or fetched now and
    stored; None for any other item, or when only the envelope can be had."""
    email_id = _email_id(item)
    if email_id is None:
        return None
    key = f"resend:content:{email_id}"
    stored = await session.scalar(
        select(InboundItem).where(
            InboundItem.workspace_id == item.workspace_id, InboundItem.dedupe_key == key
        )
    )
    if stored is not None:
        return stored
    mailbox = await session.scalar(
        select(Mailbox)
        .where(
            in_workspace(Mailbox, item.workspace_id),
            Mailbox.provider == "resend",
        )
        .order_by(Mailbox.created_at)
        .limit(1)
    )
    if mailbox is None:
        log.info("inbox.resend_envelope_only", item=str(item.id), reason="no Resend mailbox")
        return None
    sender = build_email_sender("resend", await secrets.sender_config(session, mailbox))
    assert isinstance(sender, ResendSender)
    try:
        fetched = await sender.received(email_id)
    except PermanentProviderError as exc:
        log.warning("inbox.resend_envelope_only", item=str(item.id), reason=str(exc))
        return None
    finally:
        await sender.aclose()
    payload = item.payload or {}
    content = {"type": RESEND_CONTENT, "created_at": payload.get("created_at"), "data": fetched}
    ids = await store.store_payloads(
        session, item.workspace_id, [(key, content)], source="resend", mailbox_id=mailbox.id
    )
    return await session.get(InboundItem, ids[0]) if ids else None
