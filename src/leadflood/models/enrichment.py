from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

Credits = Numeric(12, 4)


class EnrichmentRun(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One enricher consulted for one lead. A paid call is written (with its price reserved)
    before the provider is asked and settled after, so a crash never hides money spent."""

    __tablename__ = "enrichment_runs"
    __table_args__ = (
        Index("ix_enrichment_runs_workspace_created", "workspace_id", "created_at"),
        Index("ix_enrichment_runs_workspace_lead", "workspace_id", "lead_id", "created_at"),
    )

    # Kept when the lead is deleted (SET NULL): it is the record of credits spent this month.
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(40))
    found: Mapped[bool] = mapped_column(default=False)
    cached: Mapped[bool] = mapped_column(default=False, server_default="false")
    fields_changed: Mapped[list[str]] = mapped_column(JSONB, default=list)
    cost: Mapped[Decimal] = mapped_column(Credits, default=Decimal(0))
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(60))
    settled_at: Mapped[datetime | None]


class EnrichmentCache(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """What a provider answered for a lead: asking again reads this instead of paying again."""

    __tablename__ = "enrichment_cache"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id", "lead_id", "provider", name="uq_enrichment_cache_workspace_lead"
        ),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    found: Mapped[bool] = mapped_column(default=False)
    result: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime]


class Verification(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "verifications"
    __table_args__ = (
        Index("ix_verifications_workspace_created", "workspace_id", "created_at"),
        Index("ix_verifications_workspace_lead", "workspace_id", "lead_id", "created_at"),
    )

    # Kept when the lead is deleted (SET NULL), like enrichment runs: credits were spent.
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[dict[str, Any]]
    provider: Mapped[str | None] = mapped_column(String(40))
    cost: Mapped[Decimal] = mapped_column(Credits, default=Decimal(0))
    error: Mapped[str | None] = mapped_column(Text)


class BulkAction(enum.StrEnum):
    enrich = "enrich"
    verify = "verify"
    delete = "delete"
    tag = "tag"
    untag = "untag"
    list_add = "list_add"
    list_remove = "list_remove"


class BulkState(enum.StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class BulkOperation(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Enrichment, verification or deletion of many leads: what was selected and how far it
    got."""

    __tablename__ = "bulk_operations"
    __table_args__ = (Index("ix_bulk_operations_workspace_created", "workspace_id", "created_at"),)

    action: Mapped[BulkAction] = mapped_column(
        Enum(BulkAction, name="bulk_action", native_enum=False, length=20)
    )
    state: Mapped[BulkState] = mapped_column(
        Enum(BulkState, name="bulk_state", native_enum=False, length=20),
        default=BulkState.queued,
    )
    selection: Mapped[dict[str, Any]]
    total: Mapped[int] = mapped_column(default=0, server_default="0")
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    failed: Mapped[int] = mapped_column(default=0, server_default="0")
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    finished_at: Mapped[datetime | None]
