from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    retrying = "retrying"
    completed = "completed"
    failed = "failed"


class JobExecution(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One background job and the domain row it works on; the queue's own table says when it
    runs, this one says what it is about and how it went."""

    __tablename__ = "job_executions"
    __table_args__ = (
        Index("ix_job_executions_workspace_job", "workspace_id", "job_id", unique=True),
        Index("ix_job_executions_subject", "workspace_id", "subject_type", "subject_id"),
        Index("ix_job_executions_job_id", "job_id"),
    )

    job_id: Mapped[int] = mapped_column(BigInteger)
    task_name: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID]
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, name="job_state", native_enum=False, length=20), default=JobState.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
