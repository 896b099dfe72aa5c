from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class LeadStatus(enum.StrEnum):
    new = "new"
    enriching = "enriching"
    enriched = "enriched"
    failed = "failed"


class Lead(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index(
            "uq_leads_workspace_email",
            "workspace_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index("ix_leads_workspace_created", "workspace_id", "created_at", "id"),
    )

    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(200))
    seniority: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(32))
    linkedin_url: Mapped[str | None] = mapped_column(String(300))
    company_name: Mapped[str | None] = mapped_column(String(200))
    company_domain: Mapped[str | None] = mapped_column(String(253))
    company_industry: Mapped[str | None] = mapped_column(String(120))
    company_size: Mapped[int | None]
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(80))
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(40), default="manual")
    status: Mapped[LeadStatus] = mapped_column(
        Enum(LeadStatus, name="lead_status", native_enum=False, length=20),
        default=LeadStatus.new,
    )
    error: Mapped[str | None] = mapped_column(Text)
    enriched_at: Mapped[datetime | None]
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
