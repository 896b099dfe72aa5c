from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class ThreadState(enum.StrEnum):
    open = "open"
    done = "done"


class Thread(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A conversation with a lead in the inbox: the messages we sent (of one enrollment, or a
    manual reply) and what came back. Created by the first inbound message that relates to
    something we sent or to a lead; `kind`/`label` repeat its latest inbound classification
    so the inbox filters on them without reading every message."""

    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_workspace_last", "workspace_id", "last_message_at", "id"),
        Index("ix_threads_lead", "lead_id"),
        Index(
            "ix_threads_workspace_unread",
            "workspace_id",
            postgresql_where=text("unread AND state = 'open'"),
        ),
        Index(
            "uq_threads_enrollment",
            "enrollment_id",
            unique=True,
            postgresql_where=text("enrollment_id IS NOT NULL"),
        ),
    )

    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    sequence_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sequences.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ThreadState] = mapped_column(
        Enum(ThreadState, name="thread_state", native_enum=False, length=10),
        default=ThreadState.open,
    )
    unread: Mapped[bool] = mapped_column(default=True)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[str | None] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(40))
    last_message_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
