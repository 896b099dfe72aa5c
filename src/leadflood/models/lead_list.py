from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class LeadList(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A static, named set of leads; a lead may be in many."""

    __tablename__ = "lead_lists"
    __table_args__ = (
        Index(
            "uq_lead_lists_workspace_name", "workspace_id", func.lower(text("name")), unique=True
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=False
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class LeadListMember(Base):
    __tablename__ = "lead_list_members"
    __table_args__ = (Index("ix_lead_list_members_lead", "lead_id"),)

    list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead_lists.id", ondelete="CASCADE"), primary_key=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LeadNote(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "lead_notes"
    __table_args__ = (Index("ix_lead_notes_lead_created", "lead_id", "created_at"),)

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(320), default="")
    body: Mapped[str] = mapped_column(Text)
