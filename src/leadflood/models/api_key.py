from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped
from leadflood.models.membership import Role, RoleColumn


class ApiKey(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A workspace key: shown once, stored as sha256 with a visible prefix to recognise it."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_workspace_created", "workspace_id", "created_at"),)

    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(RoleColumn)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
