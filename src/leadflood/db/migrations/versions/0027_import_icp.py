"""An import can name the ICP its leads are scored against (`lead_imports.icp_id`); without one
they are scored against their best fit.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "lead_imports",
        sa.Column(
            "icp_id", sa.Uuid(), sa.ForeignKey("icps.id", ondelete="SET NULL"), nullable=True
        ),
    )


def downgrade() -> None:
    op.drop_column("lead_imports", "icp_id")
