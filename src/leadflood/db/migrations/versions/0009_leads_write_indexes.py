"""Two fewer index entries per lead written: drop the workspace-only index of `leads` (every
composite index of the table starts with workspace_id and serves the same lookups) and index the
ICP only for leads that have one (an imported lead has none until it is assigned).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_leads_workspace_id", table_name="leads")
    op.drop_index("ix_leads_workspace_icp", table_name="leads")
    op.create_index(
        "ix_leads_workspace_icp",
        "leads",
        ["workspace_id", "icp_id", "score"],
        postgresql_where=sa.text("icp_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_leads_workspace_icp", table_name="leads")
    op.create_index("ix_leads_workspace_icp", "leads", ["workspace_id", "icp_id", "score"])
    op.create_index("ix_leads_workspace_id", "leads", ["workspace_id"])
