from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base


class EnrichmentSettings(Base):
    """A workspace's enrichment choices; a workspace without a row uses the defaults."""

    __tablename__ = "enrichment_settings"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    waterfall: Mapped[list[str]] = mapped_column(JSONB, default=list)
    wanted_fields: Mapped[list[str]] = mapped_column(JSONB, default=list)
    monthly_budget: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))  # None: unlimited
    verifier: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class LeadCounts(Base):
    """Exact lead counts per status, computed in the background: counting a million rows on
    every page view would make the list slow."""

    __tablename__ = "lead_counts"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    computed_at: Mapped[datetime]
