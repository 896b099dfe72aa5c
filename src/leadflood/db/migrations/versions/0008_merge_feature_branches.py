"""Merge the prospects (ICPs, enrichment, imports) and sending branches.

Revision ID: 0008
Revises: 0004, 0005, 0006, 0007
Create Date: 2026-11-23 20:05:00
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: tuple[str, ...] = ("0004", "0005", "0006", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
