"""Scores for every lead and a sequence's entry rules: `leads.score_icp_id`, the ICP a lead's
score was computed against (its own ICP, or the workspace's best fit when it has none), and
`sequences.min_score` / `sequences.require_verified_email`, checked at enrollment.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("score_icp_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_leads_score_icp_id_icps"),
        "leads",
        "icps",
        ["score_icp_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.execute("UPDATE leads SET score_icp_id = icp_id WHERE score IS NOT NULL")
    op.add_column("sequences", sa.Column("min_score", sa.Integer(), nullable=True))
    op.add_column(
        "sequences",
        sa.Column(
            "require_verified_email", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade() -> None:
    op.drop_column("sequences", "require_verified_email")
    op.drop_column("sequences", "min_score")
    op.drop_constraint(op.f("fk_leads_score_icp_id_icps"), "leads", type_="foreignkey")
    op.drop_column("leads", "score_icp_id")
