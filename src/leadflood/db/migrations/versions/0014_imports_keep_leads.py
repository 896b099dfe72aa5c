"""Imports keep every lead they can: a row with an unusable optional value becomes a lead
without it, and is kept in `lead_import_warnings` (like the rejected rows) with the import's
`warned` count; a workspace's `default_country` reads phone numbers written without a country
code.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "lead_imports", sa.Column("warned", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_table(
        "lead_import_warnings",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["lead_imports.id"],
            name=op.f("fk_lead_import_warnings_import_id_lead_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "row_number", name=op.f("pk_lead_import_warnings")),
    )
    op.add_column("workspaces", sa.Column("default_country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    op.drop_column("workspaces", "default_country")
    op.drop_table("lead_import_warnings")
    op.drop_column("lead_imports", "warned")
