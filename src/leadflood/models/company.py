from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Company(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A lead's employer, one per (workspace, lower(domain))."""

    __tablename__ = "companies"
    __table_args__ = (
        Index(
            "uq_companies_workspace_domain",
            "workspace_id",
            func.lower(text("domain")),
            unique=True,
        ),
    )

    domain: Mapped[str] = mapped_column(String(253))
    name: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(120))
    employee_count: Mapped[int | None]
    country: Mapped[str | None] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(300))
    linkedin_url: Mapped[str | None] = mapped_column(String(300))
    technologies: Mapped[list[str]] = mapped_column(JSONB, default=list)
    source: Mapped[str] = mapped_column(String(40), default="manual")
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
