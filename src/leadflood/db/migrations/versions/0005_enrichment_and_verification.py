"""Enrichment runs and cache, verifications, bulk operations, enrichment settings, lead counts
and the leads list indexes

Revision ID: 0005
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_operations",
        sa.Column(
            "action",
            sa.Enum("enrich", "verify", name="bulk_action", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "failed",
                name="bulk_state",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("selection", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
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
            ["created_by"],
            ["users.id"],
            name=op.f("fk_bulk_operations_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_bulk_operations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_operations")),
    )
    op.create_index(
        "ix_bulk_operations_workspace_created",
        "bulk_operations",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_bulk_operations_workspace_id"), "bulk_operations", ["workspace_id"], unique=False
    )
    op.create_table(
        "enrichment_settings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("waterfall", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("wanted_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("monthly_budget", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("verifier", sa.String(length=40), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_enrichment_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_enrichment_settings")),
    )
    op.create_table(
        "lead_counts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_counts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_lead_counts")),
    )
    op.create_table(
        "enrichment_cache",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
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
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_enrichment_cache_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_enrichment_cache_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_cache")),
        sa.UniqueConstraint(
            "workspace_id", "lead_id", "provider", name="uq_enrichment_cache_workspace_lead"
        ),
    )
    op.create_index(
        op.f("ix_enrichment_cache_workspace_id"), "enrichment_cache", ["workspace_id"], unique=False
    )
    op.create_table(
        "enrichment_runs",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("cached", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("fields_changed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
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
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_enrichment_runs_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_enrichment_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_runs")),
    )
    op.create_index(
        "ix_enrichment_runs_workspace_created",
        "enrichment_runs",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_enrichment_runs_workspace_id"), "enrichment_runs", ["workspace_id"], unique=False
    )
    op.create_index(
        "ix_enrichment_runs_workspace_lead",
        "enrichment_runs",
        ["workspace_id", "lead_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "verifications",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=True),
        sa.Column("cost", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
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
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_verifications_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_verifications_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    op.create_index(
        "ix_verifications_workspace_created",
        "verifications",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_verifications_workspace_id"), "verifications", ["workspace_id"], unique=False
    )
    op.create_index(
        "ix_verifications_workspace_lead",
        "verifications",
        ["workspace_id", "lead_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_leads_workspace_company_domain",
        "leads",
        ["workspace_id", sa.literal_column("lower(company_domain)")],
        unique=False,
    )
    op.create_index(
        "ix_leads_workspace_status_created",
        "leads",
        ["workspace_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_leads_workspace_verification_created",
        "leads",
        ["workspace_id", "verification_status", "created_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_leads_workspace_verification_created", table_name="leads")
    op.drop_index("ix_leads_workspace_status_created", table_name="leads")
    op.drop_index("ix_leads_workspace_company_domain", table_name="leads")
    op.drop_index("ix_verifications_workspace_lead", table_name="verifications")
    op.drop_index(op.f("ix_verifications_workspace_id"), table_name="verifications")
    op.drop_index("ix_verifications_workspace_created", table_name="verifications")
    op.drop_table("verifications")
    op.drop_index("ix_enrichment_runs_workspace_lead", table_name="enrichment_runs")
    op.drop_index(op.f("ix_enrichment_runs_workspace_id"), table_name="enrichment_runs")
    op.drop_index("ix_enrichment_runs_workspace_created", table_name="enrichment_runs")
    op.drop_table("enrichment_runs")
    op.drop_index(op.f("ix_enrichment_cache_workspace_id"), table_name="enrichment_cache")
    op.drop_table("enrichment_cache")
    op.drop_table("lead_counts")
    op.drop_table("enrichment_settings")
    op.drop_index(op.f("ix_bulk_operations_workspace_id"), table_name="bulk_operations")
    op.drop_index("ix_bulk_operations_workspace_created", table_name="bulk_operations")
    op.drop_table("bulk_operations")
