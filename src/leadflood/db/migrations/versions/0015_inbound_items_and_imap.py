"""Inbound items stored raw first, and IMAP for mailboxes: `inbound_items` (append-only on its
raw columns, by trigger), `mailbox_folders` (where each watched folder's sync stands), and the
mailbox's IMAP settings (`mailboxes.imap`, its password by reference in the secret store).

The trigger allows, on a stored item: changing the processing columns; erasing it (raw and
payload set to NULL with `erased_at`, for a person's erasure); NULLing `mailbox_id` when its
mailbox is removed; deleting it only as part of deleting its workspace (the cascade runs after
the workspace row is gone). TRUNCATE is not refused: it needs the table's owner (an operator,
never the application), and the tests' clean-up empties tables that reference mailboxes with it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = """
CREATE FUNCTION inbound_items_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM workspaces WHERE id = OLD.workspace_id) THEN
            RAISE EXCEPTION 'inbound_items is append-only: DELETE refused (erase an item instead)'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.workspace_id IS DISTINCT FROM OLD.workspace_id
       OR NEW.source IS DISTINCT FROM OLD.source
       OR NEW.dedupe_key IS DISTINCT FROM OLD.dedupe_key
       OR NEW.received_at IS DISTINCT FROM OLD.received_at
       OR NEW.folder IS DISTINCT FROM OLD.folder
       OR NEW.uidvalidity IS DISTINCT FROM OLD.uidvalidity
       OR NEW.uid IS DISTINCT FROM OLD.uid
       OR NEW.delivered_at IS DISTINCT FROM OLD.delivered_at
       OR (NEW.mailbox_id IS DISTINCT FROM OLD.mailbox_id AND NEW.mailbox_id IS NOT NULL)
       OR (OLD.erased_at IS NOT NULL AND NEW.erased_at IS DISTINCT FROM OLD.erased_at) THEN
        RAISE EXCEPTION 'inbound_items is append-only: what was received cannot change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.raw IS DISTINCT FROM OLD.raw OR NEW.payload IS DISTINCT FROM OLD.payload
        OR NEW.erased_at IS DISTINCT FROM OLD.erased_at)
       AND NOT (NEW.raw IS NULL AND NEW.payload IS NULL AND NEW.erased_at IS NOT NULL) THEN
        RAISE EXCEPTION 'inbound_items is append-only: raw and payload only change by erasure '
            '(both set to NULL with erased_at)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER inbound_items_append_only BEFORE UPDATE OR DELETE ON inbound_items
    FOR EACH ROW EXECUTE FUNCTION inbound_items_append_only();
"""


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "inbound_items",
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=True),
        sa.Column("folder", sa.String(length=300), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("process_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_items_mailbox_id_mailboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbound_items_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_items")),
    )
    op.create_index(
        op.f("ix_inbound_items_workspace_id"), "inbound_items", ["workspace_id"], unique=False
    )
    op.create_index(
        "uq_inbound_items_workspace_dedupe",
        "inbound_items",
        ["workspace_id", "dedupe_key"],
        unique=True,
    )
    op.create_index(
        "ix_inbound_items_unprocessed",
        "inbound_items",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_index(
        "ix_inbound_items_mailbox_received",
        "inbound_items",
        ["mailbox_id", "received_at"],
        unique=False,
    )
    op.execute(APPEND_ONLY)

    op.create_table(
        "mailbox_folders",
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("folder", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_good_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_code", sa.String(length=40), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stored_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_resync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_recovery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovery_found", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_mailbox_folders_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mailbox_folders_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_folders")),
    )
    op.create_index(
        op.f("ix_mailbox_folders_workspace_id"), "mailbox_folders", ["workspace_id"], unique=False
    )
    op.create_index(
        "uq_mailbox_folders_mailbox_folder",
        "mailbox_folders",
        ["mailbox_id", "folder"],
        unique=True,
    )

    op.add_column(
        "mailboxes",
        sa.Column("imap", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("mailboxes", sa.Column("imap_secret_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_mailboxes_imap_secret_id_provider_credentials"),
        "mailboxes",
        "provider_credentials",
        ["imap_secret_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM provider_credentials WHERE id IN "
        "(SELECT imap_secret_id FROM mailboxes WHERE imap_secret_id IS NOT NULL)"
    )
    op.drop_constraint(
        op.f("fk_mailboxes_imap_secret_id_provider_credentials"), "mailboxes", type_="foreignkey"
    )
    op.drop_column("mailboxes", "imap_secret_id")
    op.drop_column("mailboxes", "imap")
    op.drop_table("mailbox_folders")
    op.drop_table("inbound_items")
    op.execute("DROP FUNCTION inbound_items_append_only()")
