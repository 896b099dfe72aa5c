"""The seam between the sending engine and its channels. The engine (claim, runs, outcomes,
reconcile) is the same for every channel; a `Channel` says how it addresses a lead, which
suppression kinds apply, how it builds what leaves, which transport sends it, and how a crashed
attempt is settled. Providers stay transports (`EmailSender`, later `SmsSender`...)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import Lead, Mailbox, Message, SuppressionKind
from leadflood.settings import Settings

if TYPE_CHECKING:
    from leadflood.sending.due import DueMessage


@dataclass(frozen=True, slots=True)
class Outbound:
    """What a feature asks to send, before the channel adds what every message of it carries
    (for email: the Message-ID, the unsubscribe headers and the footer)."""

    workspace_id: uuid.UUID
    mailbox: Mailbox
    to: str
    send_after: datetime
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    # The footer's postal address (CAN-SPAM): the sequence's, else the mailbox's.
    postal_address: str = ""
    lead_id: uuid.UUID | None = None
    enrollment_id: uuid.UUID | None = None
    step_id: uuid.UUID | None = None
    variant_id: uuid.UUID | None = None
    in_reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Who an unsubscribe from this message suppresses (a test send: the tester, not the lead).
    unsubscribe_email: str | None = None


# Builds a sender account's adapter from the mailbox and its decrypted config (tests pass
# their own; by default the channel's `transport`).
Transports = Callable[[Mailbox, dict[str, Any]], Any]


class Reconciler(Protocol):
    async def was_delivered(self, message_id: str) -> bool | None:
        """True: the server has it; False: it certainly does not; None: cannot tell."""
        ...


class Channel(Protocol):
    name: str
    # The suppression entries that stop a message of this channel.
    suppression_kinds: tuple[SuppressionKind, ...]

    def address(self, lead: Lead) -> str | None:
        """Where this channel reaches the lead (None: it cannot)."""
        ...

    async def suppressed(
        self, session: AsyncSession, workspace_id: uuid.UUID, addresses: list[str]
    ) -> dict[str, str]:
        """{address: reason} for the addresses that must not be contacted on this channel."""
        ...

    def compose(self, settings: Settings, item: Outbound, token: str) -> dict[str, Any]:
        """The `messages` columns of this outbound item; `token` is its unsubscribe token."""
        ...

    async def seal(
        self, session: AsyncSession, settings: Settings, mailbox: Mailbox, message: DueMessage
    ) -> None:
        """Add, at claim, what every message of this channel must carry if it lacks it."""
        ...

    def build(self, settings: Settings, mailbox: Mailbox, due: DueMessage) -> Any:
        """What the transport sends, from a claimed message (TEST_MODE applied here)."""
        ...

    def transport(self, mailbox: Mailbox, config: dict[str, Any]) -> Any:
        """The provider adapter that sends for this sender account."""
        ...

    async def reconcile(
        self,
        session: AsyncSession,
        message: Message,
        mailbox: Mailbox | None,
        transports: Transports | None,
        now: datetime,
    ) -> str:
        """A started attempt whose outcome is unknown after a crash: `idempotent_retry`,
        `found`, `absent`, `pending` (ask again later) or `unknown`. `transports` builds the
        adapter that can be asked (None: `transport`)."""
        ...
