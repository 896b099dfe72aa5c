from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Icp(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An ideal customer profile: who to search for (`criteria`) and how to score a lead
    against it (`weights`). Both are validated by `icps.schemas` before they are stored."""

    __tablename__ = "icps"
    __table_args__ = (
        Index("uq_icps_workspace_name", "workspace_id", func.lower(text("name")), unique=True),
    )

    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    criteria: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )
    weights: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )
    source: Mapped[str] = mapped_column(String(40), default="sandbox", server_default="sandbox")
