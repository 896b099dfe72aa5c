"""Messages of any channel: the RFC 5322 Message-ID is an email's, so it may be empty for an SMS,
a LinkedIn message or a call, which share the table and its unique (enrollment, step) rule.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("messages", "message_id", existing_type=sa.String(length=255), nullable=True)


def downgrade() -> None:
    op.execute(
        "UPDATE messages SET message_id = '<' || id::text || '@unknown.invalid>' WHERE message_id IS NULL"
    )
    op.alter_column("messages", "message_id", existing_type=sa.String(length=255), nullable=False)
