from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class ProviderCredential(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A provider secret, Fernet-encrypted; `key_version` names the key that encrypted it."""

    __tablename__ = "provider_credentials"
    __table_args__ = (UniqueConstraint("workspace_id", "provider"),)

    provider: Mapped[str] = mapped_column(String(40))
    ciphertext: Mapped[str] = mapped_column(Text)
    key_version: Mapped[str] = mapped_column(String(16))
