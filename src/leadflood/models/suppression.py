from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin


class SuppressionKind(enum.StrEnum):
    email = "email"
    domain = "domain"
    phone = "phone"
    linkedin = "linkedin"
    # A provider's id of a person ("source:id"); only ever stored hashed, by an erasure.
    person = "person"


class Suppression(IdMixin, TimestampMixin, Base):
    """Someone we must not contact. `workspace_id` NULL means the whole instance (global).
    `value` is normalised: lower-cased email/domain, E.164 phone, canonical LinkedIn URL; for an
    erased person, the digest of that form (`leads.identities.identity_digest`, "sha256:…")."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index(
            "uq_suppressions_workspace",
            "workspace_id",
            "kind",
            "value",
            unique=True,
            postgresql_where=text("workspace_id IS NOT NULL"),
        ),
        Index(
            "uq_suppressions_global",
            "kind",
            "value",
            unique=True,
            postgresql_where=text("workspace_id IS NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    kind: Mapped[SuppressionKind] = mapped_column(
        Enum(SuppressionKind, name="suppression_kind", native_enum=False, length=20)
    )
    value: Mapped[str] = mapped_column(String(320))
    # unsubscribed | bounced | complained | do_not_contact | manual | imported
    reason: Mapped[str] = mapped_column(String(30))
    source: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")


class UnsubscribeToken(Base):
    """The opaque token in an email's unsubscribe link and List-Unsubscribe header."""

    __tablename__ = "unsubscribe_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    used_at: Mapped[datetime | None]
