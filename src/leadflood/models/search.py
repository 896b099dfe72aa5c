from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class SearchRunState(enum.StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class SearchOutcome(enum.StrEnum):
    created = "created"
    updated = "updated"
    duplicate = "duplicate"
    rejected = "rejected"


class SearchRun(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One search of a provider for an ICP. The same (ICP, source, normalised params, day) is
    one run: asking again answers this row."""

    __tablename__ = "search_runs"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id",
            "icp_id",
            "source",
            "params_hash",
            "run_day",
            name="uq_search_runs_workspace_icp_source_params_day",
        ),
        Index("ix_search_runs_workspace_icp_created", "workspace_id", "icp_id", "created_at"),
    )

    icp_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("icps.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]]
    params_hash: Mapped[str] = mapped_column(String(64))
    run_day: Mapped[date]
    state: Mapped[SearchRunState] = mapped_column(
        Enum(SearchRunState, name="search_run_state", native_enum=False, length=20),
        default=SearchRunState.queued,
    )
    found: Mapped[int] = mapped_column(default=0, server_default="0")
    created: Mapped[int] = mapped_column(default=0, server_default="0")
    updated: Mapped[int] = mapped_column(default=0, server_default="0")
    duplicates: Mapped[int] = mapped_column(default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(default=0, server_default="0")
    pages_done: Mapped[int] = mapped_column(default=0, server_default="0")
    total_expected: Mapped[int | None]
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SearchResult(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Every prospect a run received, with the provider's raw payload and what became of it."""

    __tablename__ = "search_results"
    __table_args__ = (
        UniqueConstraint("run_id", "source_id", name="uq_search_results_run_source"),
        Index("ix_search_results_workspace_lead", "workspace_id", "lead_id"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("search_runs.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(200))
    page: Mapped[int]
    raw: Mapped[dict[str, Any]]
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    outcome: Mapped[SearchOutcome] = mapped_column(
        Enum(SearchOutcome, name="search_outcome", native_enum=False, length=20)
    )
    reason: Mapped[str | None] = mapped_column(String(200))
