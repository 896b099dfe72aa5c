from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class InboundItem(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Everything that came in, stored as it came before anything else happens: an email's RFC
    5322 bytes (`raw`) or a provider's JSON (`payload`). Append-only: a trigger refuses to
    change `source`, `dedupe_key`, `raw` and `payload` (but for an erasure, which sets both to
    NULL with `erased_at`) and to delete a row (but through its workspace's deletion). The
    processing columns (`processed_at`, `process_error`, `attempts`) change freely, so an item
    can be processed again after a fix."""

    __tablename__ = "inbound_items"
    __table_args__ = (
        Index("uq_inbound_items_workspace_dedupe", "workspace_id", "dedupe_key", unique=True),
        Index(
            "ix_inbound_items_unprocessed",
            "received_at",
            postgresql_where=text("processed_at IS NULL"),
        ),
        Index("ix_inbound_items_mailbox_received", "mailbox_id", "received_at"),
    )

    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # imap now; postmark, sendgrid, resend, sandbox as their inbound sources arrive.
    source: Mapped[str] = mapped_column(String(20))
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    folder: Mapped[str | None] = mapped_column(String(300))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    # When the source says it got the item (IMAP INTERNALDATE), when it says so.
    delivered_at: Mapped[datetime | None]
    # Mail: "message-id:<sha256 of the Message-ID>", else "sha256:<sha256 of the bytes>"; the
    # same mail in two folders, or seen again after a UIDVALIDITY change, is stored once.
    dedupe_key: Mapped[str] = mapped_column(String(200))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    erased_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    process_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")


class MailboxFolder(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Where the IMAP sync of one folder of a mailbox stands: the UIDVALIDITY it numbered its
    messages under, the highest UID stored, and how the last runs went."""

    __tablename__ = "mailbox_folders"
    __table_args__ = (
        Index("uq_mailbox_folders_mailbox_folder", "mailbox_id", "folder", unique=True),
    )

    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(300))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_sync_at: Mapped[datetime | None]
    last_good_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_code: Mapped[str | None] = mapped_column(String(40))
    # Failed runs in a row: the next run waits longer (a wrong password is not tried every
    # minute, which could lock the account at the provider).
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    stored_total: Mapped[int] = mapped_column(default=0, server_default="0")
    last_resync_at: Mapped[datetime | None]
    last_recovery_at: Mapped[datetime | None]
    recovery_found: Mapped[int] = mapped_column(default=0, server_default="0")


class InboundEndpoint(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A workspace's webhook URL for one provider feed (`kind`): `/v1/inbound/{kind}/{token}`.
    The token is unguessable but shown to admins (it goes into the provider's settings); what
    proves a request comes from the provider is its own check, configured here: a signing
    secret or public key, or HTTP basic auth, whose secret part is in the secrets store
    (`secret_id`). Accepted and refused requests are counted on the row."""

    __tablename__ = "inbound_endpoints"
    __table_args__ = (
        Index("uq_inbound_endpoints_workspace_kind", "workspace_id", "kind", unique=True),
        Index("uq_inbound_endpoints_token", "token", unique=True),
    )

    # postmark, resend, sendgrid-events, sendgrid-parse
    kind: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64))
    # Postmark's HTTP basic auth user name (the password is the secret).
    username: Mapped[str | None] = mapped_column(String(200))
    secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("provider_credentials.id", ondelete="SET NULL")
    )
    received_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refused_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_received_at: Mapped[datetime | None]
    last_refused_at: Mapped[datetime | None]
    last_refused_code: Mapped[str | None] = mapped_column(String(40))
