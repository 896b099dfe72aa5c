"""The leads search answers from indexes instead of a contains-scan of the workspace (seconds at
a million leads): `ix_leads_search`, a GIN index over the words it matches by prefix
(`models.lead.search_document`: the words of the name, company and title, the email's domain,
the company domain), and `ix_leads_workspace_email_prefix` for the start of the email.

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
    "array_to_tsvector(array_remove(ARRAY[split_part(lower(coalesce(email, '')), '@', 2), "
    f"lower(coalesce(company_domain, ''))] || string_to_array({WORDS}, ' '), ''))"
)


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_leads_search ON leads USING gin (({DOCUMENT}))")
    op.execute(
        "CREATE INDEX ix_leads_workspace_email_prefix ON leads "
        "(workspace_id, lower(email) text_pattern_ops)"
    )


def downgrade() -> None:
    op.drop_index("ix_leads_workspace_email_prefix", table_name="leads")
    op.drop_index("ix_leads_search", table_name="leads")
