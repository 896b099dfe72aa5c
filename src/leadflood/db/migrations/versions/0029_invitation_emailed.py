"""When an invitation was mailed to its address: accepting a mailed invitation proves the
address, as a confirmation link does.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invitations", sa.Column("emailed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("invitations", "emailed_at")
