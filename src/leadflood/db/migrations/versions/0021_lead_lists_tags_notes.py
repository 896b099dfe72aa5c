"""Lists, tags, notes and owners of leads: `lead_lists` (static, named) and their members
(a lead in many), `leads.tags` (text[] with a GIN index), `leads.owner_id` (a user of the
workspace), `lead_notes` (author, time, text) and `lead_imports.list_id` (the list an import's
leads join).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "lead_lists",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Uuid(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        *_timestamps(),
    )
    op.create_index(
        "uq_lead_lists_workspace_name",
        "lead_lists",
        ["workspace_id", sa.text("lower(name)")],
        unique=True,
    )
    op.create_table(
        "lead_list_members",
        sa.Column(
            "list_id",
            sa.Uuid(),
            sa.ForeignKey("lead_lists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "lead_id", sa.Uuid(), sa.ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "workspace_id",
            sa.Uuid(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_lead_list_members_lead", "lead_list_members", ["lead_id"])
    op.add_column(
        "leads",
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(64)),
            nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
    )
    op.create_index("ix_leads_tags", "leads", ["tags"], postgresql_using="gin")
    op.add_column(
        "leads",
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.create_index(
        "ix_leads_workspace_owner",
        "leads",
        ["workspace_id", "owner_id"],
        postgresql_where=sa.text("owner_id IS NOT NULL"),
    )
    op.create_table(
        "lead_notes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Uuid(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "lead_id", sa.Uuid(), sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("author", sa.String(320), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_lead_notes_lead_created", "lead_notes", ["lead_id", "created_at"])
    op.add_column(
        "lead_imports",
        sa.Column("list_id", sa.Uuid(), sa.ForeignKey("lead_lists.id", ondelete="SET NULL")),
    )


def downgrade() -> None:
    op.drop_column("lead_imports", "list_id")
    op.drop_table("lead_notes")
    op.drop_index("ix_leads_workspace_owner", table_name="leads")
    op.drop_column("leads", "owner_id")
    op.drop_index("ix_leads_tags", table_name="leads")
    op.drop_column("leads", "tags")
    op.drop_table("lead_list_members")
    op.drop_table("lead_lists")
