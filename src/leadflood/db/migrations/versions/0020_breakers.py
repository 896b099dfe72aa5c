"""Circuit breakers per provider and account, shared by every worker; and the indexes that
keep /metrics' counts of recent job events, send attempts and inbound messages cheap.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breakers",
        sa.Column("provider", sa.String(60), nullable=False),
        sa.Column("account", sa.String(120), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="closed"),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("opened_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "account", name=op.f("pk_breakers")),
        sa.CheckConstraint(
            "state IN ('closed', 'open', 'half_open')", name=op.f("ck_breakers_state")
        ),
    )

    op.create_index("ix_delivery_attempts_at", "delivery_attempts", ["at"])
    op.create_index(
        "ix_messages_inbound_created",
        "messages",
        ["created_at"],
        postgresql_where=sa.text("direction = 'inbound'"),
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS procrastinate_events_at_idx ON procrastinate_events (at)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS procrastinate_events_at_idx")
    op.drop_index("ix_messages_inbound_created", table_name="messages")
    op.drop_index("ix_delivery_attempts_at", table_name="delivery_attempts")
    op.drop_table("breakers")
