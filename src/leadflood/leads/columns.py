"""The columns of a leads export (pure: CSV import's mapping reads them in its workers)."""

from __future__ import annotations

# The columns of a leads export, in order; custom fields follow as `custom:<key>`. Their names
# are the ones CSV import recognises, so an exported file imports back as the same leads
# (`READ_ONLY` columns are then ignored: the import maps them to no field).
EXPORT_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "linkedin_url",
    "company_name",
    "company_domain",
    "company_industry",
    "company_size",
    "city",
    "country",
    "timezone",
    "status",
    "verification_status",
    "score",
    "source",
    "provider_person_id",
    "icp_id",
    "created_at",
    "updated_at",
)
READ_ONLY = (
    "id",
    "status",
    "verification_status",
    "score",
    "source",
    "provider_person_id",
    "icp_id",
    "created_at",
    "updated_at",
)
CUSTOM_COLUMN = "custom:"
