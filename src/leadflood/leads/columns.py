"""The columns of a leads export (pure: CSV import's mapping reads them in its workers)."""

from __future__ import annotations

# The columns of a leads export, in order (EXPORT_COLUMNS: the lead's own, then its tags and
# lists); custom fields follow as `custom:<key>`. Their names are the ones CSV import
# recognises, so an exported file imports back as the same leads (`READ_ONLY` columns are then
# ignored: the import maps them to no field).
LEAD_COLUMNS = (
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
# After the lead's own columns: its tags and the names of the lists it is in, each joined by
# MANY_SEPARATOR. Read-only on import for now (a re-import leaves tags and lists as they are).
ORGANISING_COLUMNS = ("tags", "lists")
MANY_SEPARATOR = "; "
EXPORT_COLUMNS = (*LEAD_COLUMNS, *ORGANISING_COLUMNS)
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
    *ORGANISING_COLUMNS,
)
CUSTOM_COLUMN = "custom:"
