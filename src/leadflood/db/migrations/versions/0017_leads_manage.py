"""Deleting leads keeps the record of credits spent: enrichment runs and verifications outlive
their lead (the foreign key becomes SET NULL instead of CASCADE), so deleting leads never lowers
the month's spending below the budget.

Erased people's identities are stored as digests in `suppressions.value` (no schema change);
bulk operations may now delete (`bulk_action` is a plain string column).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("enrichment_runs", "verifications")


def upgrade() -> None:
    for table in TABLES:
        name = op.f(f"fk_{table}_lead_id_leads")
        op.drop_constraint(name, table, type_="foreignkey")
        op.alter_column(table, "lead_id", existing_type=sa.Uuid(), nullable=True)
        op.create_foreign_key(name, table, "leads", ["lead_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    for table in TABLES:
        name = op.f(f"fk_{table}_lead_id_leads")
        op.execute(sa.text(f"DELETE FROM {table} WHERE lead_id IS NULL"))
        op.drop_constraint(name, table, type_="foreignkey")
        op.alter_column(table, "lead_id", existing_type=sa.Uuid(), nullable=False)
        op.create_foreign_key(name, table, "leads", ["lead_id"], ["id"], ondelete="CASCADE")
