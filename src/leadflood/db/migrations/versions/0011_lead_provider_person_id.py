"""Leads keep the id their source provider gives the person (`provider_person_id`, next to the
existing `source`), unique per (workspace, source) where set: a search result that carries
neither an email nor a LinkedIn URL (Apollo's people search) becomes a lead identified by it,
and repeating the search finds that lead again instead of creating another.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 23:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("provider_person_id", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_leads_workspace_source_person",
        "leads",
        ["workspace_id", "source", "provider_person_id"],
        unique=True,
        postgresql_where=sa.text("provider_person_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_leads_workspace_source_person", table_name="leads")
    op.drop_column("leads", "provider_person_id")
