"""The statements that store a page of search results (store.py): every lead write is
set-based over a JSON array of rows and fills only the columns that are still empty."""

from __future__ import annotations

from sqlalchemy import text

# Lead columns a search fills when they are empty, with their SQL types.
_TEXT = ("first_name", "last_name", "title", "seniority", "department", "phone", "linkedin_url")
_MORE = ("company_name", "company_domain", "company_industry", "city", "country", "timezone")
FILL: dict[str, str] = dict.fromkeys((*_TEXT, *_MORE), "text") | {
    "company_size": "int",
    "company_id": "uuid",
    "icp_id": "uuid",
}
_KEYS = {"id": "uuid", "email": "text", "provider_person_id": "text"}
_RECORD = ", ".join(f"{name} {kind}" for name, kind in {**_KEYS, **FILL}.items())
_FILL_SET = ", ".join(f"{c} = COALESCE(leads.{c}, EXCLUDED.{c})" for c in FILL)
_CHANGES = " OR ".join(f"(leads.{c} IS NULL AND EXCLUDED.{c} IS NOT NULL)" for c in FILL)
# A person id names a person at the lead's own source only: never file it under another one.
_PERSON_SET = (
    "provider_person_id = COALESCE(leads.provider_person_id, CASE WHEN leads.source = :source "
    "THEN EXCLUDED.provider_person_id END)"
)
_PERSON_CHANGE = (
    "(leads.provider_person_id IS NULL AND leads.source = :source "
    "AND EXCLUDED.provider_person_id IS NOT NULL)"
)
# An email is copied onto a lead found by its person id only while no other lead has it.
_EMAIL_FREE = (
    "v.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads other WHERE other.workspace_id = "
    ":workspace_id AND lower(other.email) = lower(v.email))"
)
_INSERT_COLUMNS = ", ".join([*_KEYS, *FILL])
_INSERT_VALUES = ", ".join(f"v.{c}" for c in [*_KEYS, *FILL])

UPSERT_BY_EMAIL = text(
    f"""
    INSERT INTO leads (workspace_id, source, status, custom_fields, {_INSERT_COLUMNS})
    SELECT :workspace_id, :source, 'new', '{{}}'::jsonb, {_INSERT_VALUES}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORD})
    ON CONFLICT (workspace_id, lower(email)) WHERE email IS NOT NULL
    DO UPDATE SET {_FILL_SET}, {_PERSON_SET}, updated_at = now()
    WHERE {_CHANGES} OR {_PERSON_CHANGE}
    RETURNING id, lower(email) AS key, (xmax = 0) AS inserted
    """
)
INSERT_WITHOUT_EMAIL = text(
    f"""
    INSERT INTO leads (workspace_id, source, status, custom_fields, {_INSERT_COLUMNS})
    SELECT :workspace_id, :source, 'new', '{{}}'::jsonb, {_INSERT_VALUES}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORD})
    """
)
FILL_BY_ID = text(
    f"""
    UPDATE leads SET {_FILL_SET.replace("EXCLUDED.", "v.")},
        {_PERSON_SET.replace("EXCLUDED.", "v.")},
        email = COALESCE(leads.email, CASE WHEN {_EMAIL_FREE} THEN v.email END),
        updated_at = now()
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORD})
    WHERE leads.id = v.id AND leads.workspace_id = :workspace_id
      AND ({_CHANGES.replace("EXCLUDED.", "v.")} OR {_PERSON_CHANGE.replace("EXCLUDED.", "v.")}
           OR (leads.email IS NULL AND {_EMAIL_FREE}))
    RETURNING leads.id
    """
)
UPSERT_COMPANIES = text(
    """
    INSERT INTO companies (id, workspace_id, domain, name, industry, employee_count, country,
                           technologies, source, raw)
    SELECT v.id, :workspace_id, v.domain, v.name, v.industry, v.employee_count, v.country,
           COALESCE(v.technologies, '[]'::jsonb), :source, '{}'::jsonb
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, domain text, name text,
         industry text, employee_count int, country text, technologies jsonb)
    ON CONFLICT (workspace_id, lower(domain)) DO UPDATE SET
        name = COALESCE(companies.name, EXCLUDED.name),
        industry = COALESCE(companies.industry, EXCLUDED.industry),
        employee_count = COALESCE(companies.employee_count, EXCLUDED.employee_count),
        country = COALESCE(companies.country, EXCLUDED.country),
        technologies = CASE WHEN companies.technologies = '[]'::jsonb
                            THEN EXCLUDED.technologies ELSE companies.technologies END,
        updated_at = now()
    RETURNING id, lower(domain) AS key
    """
)
INSERT_RESULTS = text(
    """
    INSERT INTO search_results (id, workspace_id, run_id, source_id, page, raw, lead_id,
                                outcome, reason)
    SELECT gen_random_uuid(), :workspace_id, :run_id, v.source_id, :page, v.raw, v.lead_id,
           v.outcome, v.reason
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(source_id text, raw jsonb,
         lead_id uuid, outcome text, reason text)
    ON CONFLICT (run_id, source_id) DO NOTHING
    """
)
