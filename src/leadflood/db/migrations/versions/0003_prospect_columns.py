"""Prospect columns: companies, and lead score, ICP and verification columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:35:56.597232
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=80), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("linkedin_url", sa.String(length=300), nullable=True),
        sa.Column("technologies", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_companies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_index(op.f("ix_companies_workspace_id"), "companies", ["workspace_id"], unique=False)
    op.create_index(
        "uq_companies_workspace_domain",
        "companies",
        ["workspace_id", sa.literal_column("lower(domain)")],
        unique=True,
    )
    op.add_column("leads", sa.Column("company_id", sa.Uuid(), nullable=True))
    op.add_column("leads", sa.Column("icp_id", sa.Uuid(), nullable=True))
    op.add_column("leads", sa.Column("score", sa.Integer(), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "score_breakdown",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "verification_status",
            sa.Enum(
                "unverified",
                "valid",
                "risky",
                "invalid",
                "unknown",
                name="verification_status",
                native_enum=False,
                length=20,
            ),
            server_default="unverified",
            nullable=False,
        ),
    )
    op.add_column(
        "leads",
        sa.Column(
            "verification_evidence",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_leads_workspace_company", "leads", ["workspace_id", "company_id"], unique=False
    )
    op.create_index(
        "ix_leads_workspace_icp", "leads", ["workspace_id", "icp_id", "score"], unique=False
    )
    op.create_index(
        "ix_leads_workspace_score", "leads", ["workspace_id", "score", "id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_leads_company_id_companies"),
        "leads",
        "companies",
        ["company_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_leads_company_id_companies"), "leads", type_="foreignkey")
    op.drop_index("ix_leads_workspace_score", table_name="leads")
    op.drop_index("ix_leads_workspace_icp", table_name="leads")
    op.drop_index("ix_leads_workspace_company", table_name="leads")
    op.drop_column("leads", "verified_at")
    op.drop_column("leads", "verification_evidence")
    op.drop_column("leads", "verification_status")
    op.drop_column("leads", "scored_at")
    op.drop_column("leads", "score_breakdown")
    op.drop_column("leads", "score")
    op.drop_column("leads", "icp_id")
    op.drop_column("leads", "company_id")
    op.drop_index("uq_companies_workspace_domain", table_name="companies")
    op.drop_index(op.f("ix_companies_workspace_id"), table_name="companies")
    op.drop_table("companies")
