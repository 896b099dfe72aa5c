"""Cheaper writes on the send path: leave room in `messages` pages so that marking a claimed
message started (one column, no index on it) is a heap-only update, and drop the workspace-only
index of `messages` (ix_messages_workspace_created starts with workspace_id and serves the same
look-ups, including the cascade from a deleted workspace).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 22:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_messages_workspace_id", table_name="messages")
    op.execute("ALTER TABLE messages SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE messages RESET (fillfactor)")
    op.create_index("ix_messages_workspace_id", "messages", ["workspace_id"])
