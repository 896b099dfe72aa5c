from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped
from leadflood.models.user import User


class Role(enum.StrEnum):
    viewer = "viewer"
    member = "member"
    admin = "admin"
    owner = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}

RoleColumn = Enum(Role, name="role", native_enum=False, length=20)


class Membership(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(RoleColumn)
    user: Mapped[User] = relationship(lazy="raise")


class Invitation(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A single-use, expiring link: only the sha256 of its token is stored."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_workspace_created", "workspace_id", "created_at"),)

    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(RoleColumn)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The token of the link mailed to `email` (the admin is shown another): joining by it proves
    # the address.
    mail_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
