"""The inbox's conversations: `threads`, and on `messages` the thread, the raw inbound item an
inbound message came from and its classification (with a person's correction); enrollments get
`resume_at` for pauses that end by themselves (out-of-office).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Uuid(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("lead_id", sa.Uuid(), sa.ForeignKey("leads.id", ondelete="SET NULL")),
        sa.Column("mailbox_id", sa.Uuid(), sa.ForeignKey("mailboxes.id", ondelete="SET NULL")),
        sa.Column("enrollment_id", sa.Uuid(), sa.ForeignKey("enrollments.id", ondelete="SET NULL")),
        sa.Column("sequence_id", sa.Uuid(), sa.ForeignKey("sequences.id", ondelete="SET NULL")),
        sa.Column("subject", sa.Text(), nullable=False, server_default=""),
        sa.Column("state", sa.String(10), nullable=False, server_default="open"),
        sa.Column("unread", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("assignee_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(20)),
        sa.Column("label", sa.String(40)),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "ix_threads_workspace_last", "threads", ["workspace_id", "last_message_at", "id"]
    )
    op.create_index("ix_threads_lead", "threads", ["lead_id"])
    op.create_index(
        "ix_threads_workspace_unread", "threads", ["workspace_id"],
        postgresql_where=sa.text("unread AND state = 'open'"),
    )  # fmt: skip
    op.create_index(
        "uq_threads_enrollment", "threads", ["enrollment_id"], unique=True,
        postgresql_where=sa.text("enrollment_id IS NOT NULL"),
    )  # fmt: skip
    op.add_column(
        "messages",
        sa.Column("thread_id", sa.Uuid(), sa.ForeignKey("threads.id", ondelete="SET NULL")),
    )
    op.add_column(
        "messages",
        sa.Column(
            "inbound_item_id", sa.Uuid(), sa.ForeignKey("inbound_items.id", ondelete="SET NULL")
        ),
    )
    op.add_column("messages", sa.Column("classification", postgresql.JSONB()))
    op.add_column(
        "messages",
        sa.Column("corrected_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.add_column("messages", sa.Column("corrected_at", sa.DateTime(timezone=True)))
    op.create_index("ix_messages_thread", "messages", ["thread_id", "created_at"])
    op.create_index(
        "uq_messages_inbound_item", "messages", ["inbound_item_id"], unique=True,
        postgresql_where=sa.text("inbound_item_id IS NOT NULL"),
    )  # fmt: skip
    op.add_column("enrollments", sa.Column("resume_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_enrollments_resume", "enrollments", ["resume_at"],
        postgresql_where=sa.text("resume_at IS NOT NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_enrollments_resume", table_name="enrollments")
    op.drop_column("enrollments", "resume_at")
    op.drop_index("uq_messages_inbound_item", table_name="messages")
    op.drop_index("ix_messages_thread", table_name="messages")
    for column in ("corrected_at", "corrected_by", "classification", "inbound_item_id"):
        op.drop_column("messages", column)
    op.drop_column("messages", "thread_id")
    op.drop_table("threads")
