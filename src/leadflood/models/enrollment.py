from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class EnrollmentState(enum.StrEnum):
    active = "active"
    paused = "paused"
    completed = "completed"
    stopped = "stopped"


class Enrollment(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A lead in a sequence. `next_step` is the position of the step to send next; `next_run_at`
    is when the scheduler should look at it again (NULL when nothing is planned). The partial
    index on active rows keeps the scheduler's cost independent of the table's size."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index(
            "ix_enrollments_resume",
            "resume_at",
            postgresql_where=text("resume_at IS NOT NULL"),
        ),
        UniqueConstraint("sequence_id", "lead_id"),
        Index(
            "ix_enrollments_due",
            "next_run_at",
            postgresql_where=text("state = 'active' AND next_run_at IS NOT NULL"),
        ),
        Index("ix_enrollments_workspace_lead", "workspace_id", "lead_id", "state"),
        Index("ix_enrollments_sequence_state", "sequence_id", "state"),
    )

    sequence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    state: Mapped[EnrollmentState] = mapped_column(
        Enum(EnrollmentState, name="enrollment_state", native_enum=False, length=20),
        default=EnrollmentState.active,
    )
    stop_reason: Mapped[str | None] = mapped_column(String(40))
    next_step: Mapped[int] = mapped_column(default=1)
    next_run_at: Mapped[datetime | None]
    # The mailbox that sent the first message; later steps reuse it so the thread holds.
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    last_sent_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    # A pause that ends by itself (an out-of-office until its return date): the scheduler
    # resumes the enrollment where it was at this time.
    resume_at: Mapped[datetime | None]
