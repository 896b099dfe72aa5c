from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class VerificationStatus(enum.StrEnum):
    unverified = "unverified"
    valid = "valid"
    risky = "risky"
    invalid = "invalid"
    unknown = "unknown"


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
        Index("ix_leads_workspace_score", "workspace_id", "score", "id"),
        Index("ix_leads_workspace_company", "workspace_id", "company_id"),
        # Partial: imported leads have no ICP, and every ICP filter names one.
        Index(
            "ix_leads_workspace_icp",
            "workspace_id",
            "icp_id",
            "score",
            postgresql_where=text("icp_id IS NOT NULL"),
        ),
        # The leads list filters and keyset-pages on these (docs/performance.md, "Leads list").
        Index("ix_leads_workspace_status_created", "workspace_id", "status", "created_at", "id"),
        Index(
            "ix_leads_workspace_verification_created",
            "workspace_id",
            "verification_status",
            "created_at",
            "id",
        ),
        Index(
            "ix_leads_workspace_company_domain", "workspace_id", func.lower(text("company_domain"))
        ),
        # Prospects without an email are deduplicated on their LinkedIn profile.
        Index(
            "ix_leads_workspace_linkedin",
            "workspace_id",
            "linkedin_url",
            postgresql_where=text("linkedin_url IS NOT NULL"),
        ),
        # A search result with neither email nor LinkedIn URL (Apollo's people search) is
        # identified by its provider's person id: one lead per (workspace, source, id).
        Index(
            "uq_leads_workspace_source_person",
            "workspace_id",
            "source",
            "provider_person_id",
            unique=True,
            postgresql_where=text("provider_person_id IS NOT NULL"),
        ),
        Index("ix_leads_tags", "tags", postgresql_using="gin"),
        # The search's email prefix (`lower(email) LIKE 'ada.l%'`): the unique index above
        # cannot serve LIKE unless the database's collation is "C".
        Index(
            "ix_leads_workspace_email_prefix",
            "workspace_id",
            func.lower(text("email")).label("lower_email"),
            postgresql_ops={"lower_email": "text_pattern_ops"},
        ),
        Index(
            "ix_leads_workspace_owner",
            "workspace_id",
            "owner_id",
            postgresql_where=text("owner_id IS NOT NULL"),
        ),
    )

    # No index of its own: every composite index above starts with it.
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=False
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
    # The person's id at the provider named by `source` (set by that provider's search runs).
    provider_person_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[LeadStatus] = mapped_column(
        Enum(LeadStatus, name="lead_status", native_enum=False, length=20),
        default=LeadStatus.new,
    )
    error: Mapped[str | None] = mapped_column(Text)
    enriched_at: Mapped[datetime | None]
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL")
    )
    # The ICP the lead is scored against (the one it was found for, or chosen later).
    icp_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("icps.id", ondelete="SET NULL"))
    # The ICP `score` was computed against: `icp_id`, or the workspace's best fit without one.
    score_icp_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("icps.id", ondelete="SET NULL")
    )
    score: Mapped[int | None]
    score_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    scored_at: Mapped[datetime | None]
    verification_status: Mapped[VerificationStatus] = mapped_column(
        Enum(VerificationStatus, name="verification_status", native_enum=False, length=20),
        default=VerificationStatus.unverified,
        server_default=VerificationStatus.unverified.value,
    )
    verification_evidence: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )
    verified_at: Mapped[datetime | None]
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default=text("'{}'::varchar[]")
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


def _constant(value: str) -> ColumnElement[str]:
    # Rendered inline, never as a bind parameter: the planner matches a query's expression to
    # the index's only when both hold the same constants.
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def search_document() -> ColumnElement[Any]:
    """The words the leads search matches by prefix (`ix_leads_search`,
    `leads.queries.search_condition`): each word of the name, company and title (split on
    spaces), the email's domain and the company domain, lower-cased. Every insert pays for it:
    splitting words on punctuation too (regexp) more than doubled its cost per row, hence
    spaces only (docs/performance.md, "Search"). The email's own prefix is served by
    `ix_leads_workspace_email_prefix`."""
    blank, space = _constant(""), _constant(" ")
    words = func.lower(
        func.coalesce(Lead.first_name, blank)
        .op("||")(space)
        .op("||")(func.coalesce(Lead.last_name, blank))
        .op("||")(space)
        .op("||")(func.coalesce(Lead.company_name, blank))
        .op("||")(space)
        .op("||")(func.coalesce(Lead.title, blank))
    )
    domain = func.split_part(
        func.lower(func.coalesce(Lead.email, blank)), _constant("@"), literal_column("2")
    )
    lexemes = array([domain, func.lower(func.coalesce(Lead.company_domain, blank))]).op("||")(
        func.string_to_array(words, space)
    )
    return func.array_to_tsvector(func.array_remove(lexemes, blank))


# Built from the mapped columns, so declared after the class; Index() does not find the table
# inside this expression by itself.
cast(Table, Lead.__table__).append_constraint(
    Index("ix_leads_search", search_document(), postgresql_using="gin")
)
