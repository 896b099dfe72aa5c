"""The leads search answers from an index: `ix_leads_search`, a GIN index over the words a
search matches (`models.lead.search_document`: the email and its domain, the company domain,
the words of the name, company and title), queried with prefix terms. It replaces a
contains-scan of the workspace (seconds at a million leads).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORDS = (
    "lower((((((coalesce(first_name, '') || ' ') || coalesce(last_name, '')) || ' ') || "
    "coalesce(company_name, '')) || ' ') || coalesce(title, ''))"
)
DOCUMENT = (
    "array_to_tsvector(array_remove((ARRAY[lower(coalesce(email, '')), "
    "split_part(lower(coalesce(email, '')), '@', 2), lower(coalesce(company_domain, ''))] || "
    f"string_to_array({WORDS}, ' ')) || regexp_split_to_array({WORDS}, '[^[:alnum:]]+'), ''))"
)


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_leads_search ON leads USING gin (({DOCUMENT}))")


def downgrade() -> None:
    op.drop_index("ix_leads_search", table_name="leads")
