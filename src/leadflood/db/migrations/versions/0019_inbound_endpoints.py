"""Provider webhooks into the inbox: `inbound_endpoints`, one per workspace and provider feed
(Postmark; Resend; SendGrid's Event Webhook and Inbound Parse), with the URL's token, how the
provider's requests are checked (the secret part by reference in the secrets store) and the
counts of accepted and refused requests; and an index on `messages.provider_message_id`, by
which their delivery events find our message.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Uuid(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("username", sa.String(200)),
        sa.Column(
            "secret_id",
            sa.Uuid(),
            sa.ForeignKey("provider_credentials.id", ondelete="SET NULL"),
        ),
        sa.Column("received_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("refused_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("last_received_at", sa.DateTime(timezone=True)),
        sa.Column("last_refused_at", sa.DateTime(timezone=True)),
        sa.Column("last_refused_code", sa.String(40)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "uq_inbound_endpoints_workspace_kind", "inbound_endpoints", ["workspace_id", "kind"],
        unique=True,
    )  # fmt: skip
    op.create_index("uq_inbound_endpoints_token", "inbound_endpoints", ["token"], unique=True)
    op.create_index(
        "ix_messages_provider_message_id", "messages", ["provider_message_id"],
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_messages_provider_message_id", table_name="messages")
    op.drop_table("inbound_endpoints")
