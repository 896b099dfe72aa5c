from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class MailboxState(enum.StrEnum):
    active = "active"
    paused = "paused"
    error = "error"


class Mailbox(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A sender account. `provider` is smtp, resend, postmark or sendgrid; `config` holds the
    non-secret settings (host, port, tls_mode, username, message_stream, base_url); its secrets
    live in `provider_credentials` (`secret_id`, `dkim_key_id`), read only by
    `mailboxes.secrets.sender_config`."""

    __tablename__ = "mailboxes"
    __table_args__ = (Index("ix_mailboxes_workspace_state", "workspace_id", "state"),)

    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    provider: Mapped[str] = mapped_column(String(20))
    from_name: Mapped[str | None] = mapped_column(String(120))
    from_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    signature: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The password or API key, and the DKIM private key, in the one store for secrets.
    secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("provider_credentials.id", ondelete="SET NULL")
    )
    dkim_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("provider_credentials.id", ondelete="SET NULL")
    )
    dkim_selector: Mapped[str | None] = mapped_column(String(63))
    dkim_domain: Mapped[str | None] = mapped_column(String(253))
    daily_cap: Mapped[int] = mapped_column(default=50)
    min_gap_seconds: Mapped[int] = mapped_column(default=120)
    jitter_seconds: Mapped[int] = mapped_column(default=60)
    # {"days": [0..6], "start": "HH:MM", "end": "HH:MM"} in `timezone`; see sending/windows.py
    window: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    warmup_enabled: Mapped[bool] = mapped_column(default=False)
    warmup_start: Mapped[int] = mapped_column(default=10)
    warmup_increment: Mapped[int] = mapped_column(default=5)
    warmup_started_on: Mapped[date | None]
    state: Mapped[MailboxState] = mapped_column(
        Enum(MailboxState, name="mailbox_state", native_enum=False, length=20),
        default=MailboxState.active,
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    last_sent_at: Mapped[datetime | None]
    # When the next send from this mailbox may start (gap + jitter); the scheduler and the
    # delivery claim move it forward in the transaction that claims a send.
    next_send_at: Mapped[datetime | None]
    dns_checks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where replies are read (IMAP, for SMTP mailboxes): host, port, tls_mode, username,
    # folders, poll_seconds, same_as_smtp; None when replies are not read here. The password is
    # `imap_secret_id` (or the SMTP one, `secret_id`, when same_as_smtp).
    imap: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    imap_secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("provider_credentials.id", ondelete="SET NULL")
    )
