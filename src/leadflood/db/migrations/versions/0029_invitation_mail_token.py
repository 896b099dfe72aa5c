"""An invitation's mailed link carries a token of its own (the admin is shown another): joining
by it proves the address, as a confirmation link does.

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
    op.add_column("invitations", sa.Column("mail_token_hash", sa.String(64)))
    op.create_unique_constraint(
        "uq_invitations_mail_token_hash", "invitations", ["mail_token_hash"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_invitations_mail_token_hash", "invitations")
    op.drop_column("invitations", "mail_token_hash")
