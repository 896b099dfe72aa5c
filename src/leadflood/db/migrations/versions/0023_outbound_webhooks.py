"""Outbound webhooks: `webhook_events` (the outbox, written in the transaction of each change),
`webhook_endpoints` (a workspace's subscriptions, their secret by reference in the secrets
store), `webhook_deliveries` (one event for one endpoint, with its retry schedule) and
`webhook_attempts` (each POST: status code, response excerpt, duration).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _workspace() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "workspace_id",
        sa.Uuid(),
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _workspace(),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("data", JSONB(), nullable=False),
        _now("created_at"),
        sa.Column("dispatched_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_webhook_events_undispatched", "webhook_events", ["created_at"],
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )  # fmt: skip
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _workspace(),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(300)),
        sa.Column("events", sa.ARRAY(sa.String(60)), nullable=False),
        sa.Column(
            "secret_id", sa.Uuid(), sa.ForeignKey("provider_credentials.id", ondelete="SET NULL")
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("disabled_reason", sa.String(300)),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.Column("failing_since", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _workspace(),
        sa.Column(
            "endpoint_id",
            sa.Uuid(),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), sa.ForeignKey("webhook_events.id", ondelete="SET NULL")),
        sa.Column("message_id", sa.String(60), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )  # fmt: skip
    op.create_index(
        "ix_webhook_deliveries_endpoint_created", "webhook_deliveries",
        ["endpoint_id", "created_at"],
    )  # fmt: skip
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _workspace(),
        sa.Column(
            "delivery_id",
            sa.Uuid(),
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _now("attempted_at"),
        sa.Column("status_code", sa.Integer()),
        sa.Column("response_excerpt", sa.Text()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index(
        "ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("webhook_events")
