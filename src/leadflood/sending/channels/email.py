"""The email channel: a lead is reached at its address; the address and its domain can be
suppressed; every message carries a Message-ID fixed before its first attempt, the RFC 8058
unsubscribe headers and a footer with the postal address; TEST_MODE redirects it; a crashed
attempt is settled by the provider's idempotency key, or by asking where it can be asked: the
demo and test catchers by Message-ID, Postmark by the metadata the message was sent with."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.logging import get_logger
from leadflood.mailboxes.secrets import sender_config
from leadflood.models import Lead, Mailbox, Message, SuppressionKind
from leadflood.providers.base import (
    MESSAGE_METADATA_KEY,
    EmailSender,
    OutboundEmail,
    PermanentProviderError,
    ProviderError,
    SentLookup,
)
from leadflood.providers.email import build_email_sender
from leadflood.sending import catcher_store
from leadflood.sending.channels.base import Outbound, Reconciler, Transports
from leadflood.sending.due import DueMessage
from leadflood.settings import Settings
from leadflood.suppressions import service as suppression
from leadflood.suppressions import unsubscribe

log = get_logger("leadflood.sending")

# Providers that deduplicate a retried request by its idempotency key.
IDEMPOTENT_PROVIDERS = frozenset({"resend"})
# Providers that can be asked whether they took a message, by the metadata it carries
# (`SentLookup`), our message's id under MESSAGE_MESSAGE_METADATA_KEY.
LOOKUP_PROVIDERS = frozenset({"postmark"})
# A message the provider does not show yet may still be on its way into the search: it counts
# as absent (and is sent again) only this long after its attempt began.
LOOKUP_GRACE = timedelta(minutes=10)
# A provider that cannot be asked for this long leaves the message `unconfirmed`.
LOOKUP_GIVE_UP = timedelta(hours=1)


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4()}@{domain}>"


def sender_domain(mailbox: Mailbox) -> str:
    return mailbox.from_email.rpartition("@")[2] or "localhost"


def test_subject(to_address: str, subject: str) -> str:
    return f"[TEST → {to_address}] {subject}"


def with_footer(
    settings: Settings, token: str, postal_address: str, text: str, html: str | None
) -> tuple[str, str | None]:
    """The body with the footer every email carries: the postal address and the unsubscribe
    link."""
    footer_text, footer_html = unsubscribe.footer(settings, token, postal_address)
    return text.rstrip("\n") + footer_text, None if html is None else html + footer_html


def unsubscribe_headers(settings: Settings, token: str, mailbox: Mailbox) -> dict[str, str]:
    return unsubscribe.headers(settings, token, mailto=mailbox.reply_to or mailbox.from_email)


class DirectoryReconciler:
    """A catcher that keeps what it receives by Message-ID in a directory (demo, tests)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def was_delivered(self, message_id: str) -> bool | None:
        if not self.directory.is_dir():
            return None
        return catcher_store.has(self.directory, message_id)


def reconciler_for(mailbox: Mailbox | None) -> Reconciler | None:
    directory = (mailbox.config or {}).get("catcher_dir") if mailbox is not None else None
    return DirectoryReconciler(Path(str(directory))) if directory else None


class EmailChannel:
    name: str = "email"
    suppression_kinds: tuple[SuppressionKind, ...] = (SuppressionKind.email, SuppressionKind.domain)

    def address(self, lead: Lead) -> str | None:
        return lead.email

    async def suppressed(
        self, session: AsyncSession, workspace_id: uuid.UUID, addresses: list[str]
    ) -> dict[str, str]:
        """{address: reason} for the suppressed ones, by address or domain."""
        return await suppression.suppressed_emails(session, workspace_id, addresses)

    def compose(self, settings: Settings, item: Outbound, token: str) -> dict[str, Any]:
        mailbox = item.mailbox
        body_text, body_html = with_footer(
            settings, token, item.postal_address, item.body_text, item.body_html
        )
        return {
            "to_address": item.to,
            "from_address": mailbox.from_email,
            "subject": item.subject,
            "body_text": body_text,
            "body_html": body_html,
            "headers": {**item.headers, **unsubscribe_headers(settings, token, mailbox)},
            "message_id": new_message_id(sender_domain(mailbox)),
            "in_reply_to": item.in_reply_to,
        }

    async def seal(
        self, session: AsyncSession, settings: Settings, mailbox: Mailbox, message: DueMessage
    ) -> None:
        """A message queued without its unsubscribe headers (rows written by an older release
        or by hand) gets them here, with the footer, so no email ever leaves without them."""
        if message.has_unsubscribe:
            return
        token = await unsubscribe.issue_token(
            session, message.workspace_id, message.lead_id, message.to_address
        )
        address = message.postal_address or str((mailbox.config or {}).get("postal_address") or "")
        footer_text, footer_html = unsubscribe.footer(settings, token, address)
        headers = {
            **(json.loads(message.headers) if message.headers else {}),
            **unsubscribe_headers(settings, token, mailbox),
        }
        message.headers, message.has_unsubscribe = json.dumps(headers), True
        message.body_text = (message.body_text or "") + footer_text
        if message.body_html is not None:
            message.body_html += footer_html
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(headers=headers, body_text=message.body_text, body_html=message.body_html)
        )

    def build(self, settings: Settings, mailbox: Mailbox, due: DueMessage) -> OutboundEmail:
        if not due.message_id:
            raise PermanentProviderError(
                "queued without a Message-ID: queue emails through sending.service.queue()",
                provider=mailbox.provider,
                code="no_message_id",
            )
        headers: dict[str, Any] = json.loads(due.headers) if due.headers else {}
        if due.in_reply_to:
            headers.setdefault("In-Reply-To", due.in_reply_to)
            headers.setdefault("References", due.in_reply_to)
        to = [due.to_address]
        subject = due.subject
        if settings.test_mode:
            to = list(settings.test_recipients)
            subject = test_subject(due.to_address, subject)
        return OutboundEmail(
            message_id=due.message_id,
            from_email=due.from_address or mailbox.from_email,
            from_name=mailbox.from_name,
            to=to,
            subject=subject,
            text=due.body_text,
            html=due.body_html,
            reply_to=mailbox.reply_to,
            headers=headers,
            idempotency_key=due.message_id.strip("<>"),
            metadata={MESSAGE_METADATA_KEY: str(due.id)},
        )

    def transport(self, mailbox: Mailbox, config: dict[str, Any]) -> EmailSender:
        return build_email_sender(mailbox.provider, config)

    async def reconcile(
        self,
        session: AsyncSession,
        message: Message,
        mailbox: Mailbox | None,
        transports: Transports | None,
        now: datetime,
    ) -> str:
        provider = message.provider or (mailbox.provider if mailbox else "")
        if provider in IDEMPOTENT_PROVIDERS:
            return "idempotent_retry"
        if mailbox is not None and provider in LOOKUP_PROVIDERS:
            return await self._look_up(session, message, mailbox, transports, now)
        reconciler = reconciler_for(mailbox)
        found = (
            await reconciler.was_delivered(message.message_id)
            if reconciler is not None and message.message_id
            else None
        )
        if found is True:
            return "found"
        if found is False:
            return "absent"
        return "unknown"

    async def _look_up(
        self,
        session: AsyncSession,
        message: Message,
        mailbox: Mailbox,
        transports: Transports | None,
        now: datetime,
    ) -> str:
        """Ask the provider for the message by our id in its metadata: found is sent (with
        the provider's id), absent is sent again once LOOKUP_GRACE has passed, and a provider
        that cannot answer is asked again later, for up to LOOKUP_GIVE_UP."""
        began = message.sending_started_at or now
        try:
            config = await sender_config(session, mailbox)
            sender = (transports or self.transport)(mailbox, config)
        except Exception as exc:  # secrets unreadable, a mailbox no longer configured
            log.warning("sending.lookup_impossible", message=str(message.id), error=str(exc))
            return "unknown"
        try:
            if not isinstance(sender, SentLookup):
                return "unknown"
            found = await sender.find_sent(MESSAGE_METADATA_KEY, str(message.id))
        except ProviderError as exc:
            log.warning("sending.lookup_failed", message=str(message.id), error=str(exc))
            return "unanswered" if now - began >= LOOKUP_GIVE_UP else "pending"
        finally:
            close = getattr(sender, "aclose", None)
            if close is not None:
                await close()
        if found is not None:
            message.provider_message_id = found
            return "found"
        return "absent" if now - began >= LOOKUP_GRACE else "pending"


EMAIL = EmailChannel()
