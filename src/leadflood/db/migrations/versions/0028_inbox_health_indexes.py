"""Partial indexes for the inbox's bounce and complaint look-ups, which otherwise read every
message of the mailbox or every inbound message of the period: a mailbox's latest sends and
its complaints of the last 30 days (its health check), a recipient's soft bounces (the third
suppresses).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_mailbox_outbound",
        "messages",
        ["mailbox_id", "created_at"],
        postgresql_where=sa.text("direction = 'outbound'"),
    )
    op.create_index(
        "ix_messages_mailbox_complaints",
        "messages",
        ["mailbox_id", "created_at"],
        postgresql_where=sa.text(
            "direction = 'inbound' AND (classification ->> 'kind') = 'complaint'"
        ),
    )
    op.create_index(
        "ix_messages_soft_bounces",
        "messages",
        ["workspace_id", sa.text("lower(classification ->> 'recipient')"), "created_at"],
        postgresql_where=sa.text(
            "direction = 'inbound' AND (classification ->> 'bounce_type') = 'soft'"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_soft_bounces", table_name="messages")
    op.drop_index("ix_messages_mailbox_complaints", table_name="messages")
    op.drop_index("ix_messages_mailbox_outbound", table_name="messages")
