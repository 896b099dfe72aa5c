"""ICPs, search runs and search results; leads.icp_id references icps

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:40:08.234967
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "icps",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "criteria",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "weights",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=40), server_default="sandbox", nullable=False),
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
            name=op.f("fk_icps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icps")),
    )
    op.create_index(op.f("ix_icps_workspace_id"), "icps", ["workspace_id"], unique=False)
    op.create_index(
        "uq_icps_workspace_name",
        "icps",
        ["workspace_id", sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_table(
        "search_runs",
        sa.Column("icp_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("run_day", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "failed",
                name="search_run_state",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("found", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pages_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_expected", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
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
            ["icp_id"], ["icps.id"], name=op.f("fk_search_runs_icp_id_icps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_search_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_runs")),
        sa.UniqueConstraint(
            "workspace_id",
            "icp_id",
            "source",
            "params_hash",
            "run_day",
            name="uq_search_runs_workspace_icp_source_params_day",
        ),
    )
    op.create_index(
        "ix_search_runs_workspace_icp_created",
        "search_runs",
        ["workspace_id", "icp_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_search_runs_workspace_id"), "search_runs", ["workspace_id"], unique=False
    )
    op.create_table(
        "search_results",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "created",
                "updated",
                "duplicate",
                "rejected",
                name="search_outcome",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=True),
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
            name=op.f("fk_search_results_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["search_runs.id"],
            name=op.f("fk_search_results_run_id_search_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_search_results_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_results")),
        sa.UniqueConstraint("run_id", "source_id", name="uq_search_results_run_source"),
    )
    op.create_index(
        op.f("ix_search_results_workspace_id"), "search_results", ["workspace_id"], unique=False
    )
    op.create_index(
        "ix_search_results_workspace_lead",
        "search_results",
        ["workspace_id", "lead_id"],
        unique=False,
    )
    op.create_index(
        "ix_leads_workspace_linkedin",
        "leads",
        ["workspace_id", "linkedin_url"],
        unique=False,
        postgresql_where=sa.text("linkedin_url IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_leads_icp_id_icps"), "leads", "icps", ["icp_id"], ["id"], ondelete="SET NULL"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_leads_icp_id_icps"), "leads", type_="foreignkey")
    op.drop_index(
        "ix_leads_workspace_linkedin",
        table_name="leads",
        postgresql_where=sa.text("linkedin_url IS NOT NULL"),
    )
    op.drop_index("ix_search_results_workspace_lead", table_name="search_results")
    op.drop_index(op.f("ix_search_results_workspace_id"), table_name="search_results")
    op.drop_table("search_results")
    op.drop_index(op.f("ix_search_runs_workspace_id"), table_name="search_runs")
    op.drop_index("ix_search_runs_workspace_icp_created", table_name="search_runs")
    op.drop_table("search_runs")
    op.drop_index("uq_icps_workspace_name", table_name="icps")
    op.drop_index(op.f("ix_icps_workspace_id"), table_name="icps")
    op.drop_table("icps")
