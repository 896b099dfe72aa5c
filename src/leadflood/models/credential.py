from __future__ import annotations

import enum

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class CredentialKind(enum.StrEnum):
    provider_key = "provider_key"  # a workspace's key for a provider (Apollo, Hunter): one each
    mailbox_secret = "mailbox_secret"  # a sender account's SMTP password or API key
    dkim_key = "dkim_key"  # a sender account's DKIM private key
    imap_secret = "imap_secret"  # a mailbox's IMAP password (when not the SMTP one)
    # an inbound webhook's signing secret, public key or basic-auth password
    webhook_secret = "webhook_secret"


class ProviderCredential(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A secret at rest, Fernet-encrypted; `key_version` names the key that encrypted it. The
    one store for secrets: provider keys, and the mailboxes' secrets they reference."""

    __tablename__ = "provider_credentials"
    __table_args__ = (
        Index(
            "uq_provider_credentials_workspace_provider_key",
            "workspace_id",
            "provider",
            unique=True,
            postgresql_where=text("kind = 'provider_key'"),
        ),
    )

    provider: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(
        String(20), default=CredentialKind.provider_key, server_default="provider_key"
    )
    ciphertext: Mapped[str] = mapped_column(Text)
    key_version: Mapped[str] = mapped_column(String(16))
