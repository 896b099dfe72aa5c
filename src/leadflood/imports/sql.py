"""The set-based statements that turn one staged chunk of an import into leads and companies.

Each chunk is COPied into a temporary staging table, then a handful of statements act on all of
its rows at once: companies by lower(domain), leads with an email by ON CONFLICT on
(workspace_id, lower(email)), leads without one matched on their LinkedIn URL, else their
provider person id, else name and company, then the counts. All of it runs in the chunk's one
transaction.

Imported leads have the source "import", so a person id from a file is unique among the
workspace's imported leads (uq_leads_workspace_source_person). A row whose person id another lead
already holds keeps its identity by email or LinkedIn URL and leaves that id out, rather than
failing the chunk (RELEASE_* below).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.imports.validation_worker import REJECTION_COLUMNS, STAGE_COLUMNS
from leadflood.leads import forgotten

STAGE = "lead_import_stage"
CREATE_STAGE = f"""
CREATE TEMPORARY TABLE {STAGE} (
    row_number integer PRIMARY KEY, id uuid NOT NULL, dkey text NOT NULL, email text,
    first_name text, last_name text, title text, seniority text, department text, phone text,
    linkedin_url text, company_name text, company_domain text, industry text,
    employee_count integer, city text, country text, timezone text, website text,
    provider_person_id text, custom jsonb NOT NULL, lead_id uuid
) ON COMMIT DROP
"""
COPY_STAGE = f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
COPY_REJECTIONS = f"COPY lead_import_rejections ({', '.join(REJECTION_COLUMNS)}) FROM STDIN"
COPY_WARNINGS = f"COPY lead_import_warnings ({', '.join(REJECTION_COLUMNS)}) FROM STDIN"
SOURCE = "import"

UPSERT_COMPANIES = f"""
INSERT INTO companies (id, workspace_id, domain, name, industry, employee_count, website,
                       technologies, source, raw)
SELECT DISTINCT ON (lower(company_domain)) gen_random_uuid(), :ws, lower(company_domain),
       company_name, industry, employee_count, website, '[]'::jsonb, 'import', '{{}}'::jsonb
FROM {STAGE} WHERE company_domain IS NOT NULL {{only}}
ORDER BY lower(company_domain), row_number
ON CONFLICT (workspace_id, lower(domain)) DO NOTHING
"""

_INSERT_LEADS = f"""
INSERT INTO leads (id, workspace_id, email, first_name, last_name, title, seniority, department,
                   phone, linkedin_url, company_name, company_domain, company_industry,
                   company_size, city, country, timezone, custom_fields, company_id, source,
                   provider_person_id, status)
SELECT {{distinct}} s.id, :ws, s.email, s.first_name, s.last_name, s.title,
       s.seniority, s.department, s.phone, s.linkedin_url, s.company_name, s.company_domain,
       s.industry, s.employee_count, s.city, s.country, s.timezone, s.custom, c.id, '{SOURCE}',
       s.provider_person_id, 'new'
FROM {STAGE} s
LEFT JOIN companies c ON c.workspace_id = :ws AND lower(c.domain) = lower(s.company_domain)
{{where}}
"""
# A file's values win where the file has one; an empty cell never erases what is stored.
_UPDATE_SET = """
    first_name = COALESCE({n}.first_name, leads.first_name),
    last_name = COALESCE({n}.last_name, leads.last_name),
    title = COALESCE({n}.title, leads.title),
    seniority = COALESCE({n}.seniority, leads.seniority),
    department = COALESCE({n}.department, leads.department),
    phone = COALESCE({n}.phone, leads.phone),
    linkedin_url = COALESCE({n}.linkedin_url, leads.linkedin_url),
    company_name = COALESCE({n}.company_name, leads.company_name),
    company_domain = COALESCE({n}.company_domain, leads.company_domain),
    company_industry = COALESCE({n}.{industry}, leads.company_industry),
    company_size = COALESCE({n}.{size}, leads.company_size),
    city = COALESCE({n}.city, leads.city),
    country = COALESCE({n}.country, leads.country),
    timezone = COALESCE({n}.timezone, leads.timezone),
    custom_fields = leads.custom_fields || {n}.{custom},
    company_id = COALESCE({n}.company_id, leads.company_id),
    provider_person_id = CASE WHEN leads.source = 'import'
        THEN COALESCE(leads.provider_person_id, {n}.provider_person_id)
        ELSE leads.provider_person_id END,
    updated_at = now()
"""
# The staged rows with an email are unique by lower(email) when they are all plain ASCII: the
# file's dedupe (`validation.dedupe_key`, Python's lower()) took the later ones out. They are then
# inserted as staged, in file order, which is the order of their ids. Otherwise DISTINCT ON:
# Python and PostgreSQL may lower-case some non-ASCII addresses differently, and DO UPDATE
# refuses to touch one row twice in a statement.
_INSERT_EMAIL = {
    True: _INSERT_LEADS.format(distinct="", where="WHERE s.email IS NOT NULL"),
    False: _INSERT_LEADS.format(
        distinct="DISTINCT ON (lower(s.email))",
        where="WHERE s.email IS NOT NULL ORDER BY lower(s.email), s.row_number",
    ),
}
_EMAIL_CONFLICT = "ON CONFLICT (workspace_id, lower(email)) WHERE email IS NOT NULL"
_EMAIL_ACTION = {
    "skip": "DO NOTHING RETURNING true AS inserted",
    "update": f"""DO UPDATE SET
{
        _UPDATE_SET.format(
            n="excluded", industry="company_industry", size="company_size", custom="custom_fields"
        )
    }
RETURNING (xmax = 0) AS inserted""",
}
# One statement writes the rows with an email and counts, in the same pass: created, updated,
# and the staged rows with an email and without one (those with one not written were skipped).
EMAIL_LEADS = {
    (action, plain): f"""
WITH written AS ({_INSERT_EMAIL[plain]} {_EMAIL_CONFLICT} {_EMAIL_ACTION[action]})
SELECT (SELECT count(*) FILTER (WHERE inserted) FROM written),
       (SELECT count(*) FILTER (WHERE NOT inserted) FROM written),
       count(*) FILTER (WHERE email IS NOT NULL), count(*) FILTER (WHERE email IS NULL)
FROM {STAGE}"""
    for action in _EMAIL_ACTION
    for plain in (True, False)
}
# While a run finds only new people, a chunk's rows with an email are first inserted as they
# are, without the speculative insertion of ON CONFLICT (a lock and one more WAL record a row):
# the unique index still refuses an address the workspace has, and then the chunk, rolled back
# to a savepoint, takes the statement above.
NEW_EMAIL_LEADS = f"""
WITH written AS ({_INSERT_EMAIL[True]} RETURNING true AS inserted)
SELECT (SELECT count(*) FROM written), 0,
       count(*) FILTER (WHERE email IS NOT NULL), count(*) FILTER (WHERE email IS NULL)
FROM {STAGE}"""
EMAIL_UNIQUE = "uq_leads_workspace_email"

# A row with an email leaves out a person id that another lead of the import source holds, or
# that an earlier row of the chunk with another email brings.
RELEASE_EMAIL_PERSON = f"""
UPDATE {STAGE} s SET provider_person_id = NULL
FROM (SELECT row_number,
             lower(email) <> first_value(lower(email)) OVER (
                 PARTITION BY provider_person_id ORDER BY row_number) AS taken
      FROM {STAGE} WHERE email IS NOT NULL AND provider_person_id IS NOT NULL) f
WHERE s.row_number = f.row_number AND (
    f.taken
    OR EXISTS (SELECT 1 FROM leads l
               WHERE l.workspace_id = :ws AND l.source = '{SOURCE}'
                 AND l.provider_person_id = s.provider_person_id
                 AND lower(l.email) IS DISTINCT FROM lower(s.email)))
"""

# Leads without an email: the same person is the same LinkedIn profile, else the same person id,
# else (with none) the same name at the same company. Only the person id has a unique index,
# hence the workspace lock.
MATCH_LINKEDIN = f"""
UPDATE {STAGE} s SET lead_id = l.id FROM leads l
WHERE s.email IS NULL AND s.linkedin_url IS NOT NULL
  AND l.workspace_id = :ws AND l.linkedin_url = s.linkedin_url
"""
MATCH_PERSON = f"""
UPDATE {STAGE} s SET lead_id = l.id FROM leads l
WHERE s.email IS NULL AND s.lead_id IS NULL AND s.provider_person_id IS NOT NULL
  AND l.workspace_id = :ws AND l.source = '{SOURCE}'
  AND l.provider_person_id = s.provider_person_id
"""
MATCH_NAME = f"""
UPDATE {STAGE} s SET lead_id = l.id FROM leads l
WHERE s.email IS NULL AND s.linkedin_url IS NULL AND s.provider_person_id IS NULL
  AND l.workspace_id = :ws AND l.email IS NULL AND l.linkedin_url IS NULL
  AND lower(concat_ws(' ', l.first_name, l.last_name))
      = lower(concat_ws(' ', s.first_name, s.last_name))
  AND lower(COALESCE(l.company_domain, l.company_name))
      = lower(COALESCE(s.company_domain, s.company_name))
"""
STAGED_WITHOUT_EMAIL = f"""
SELECT count(*) FILTER (WHERE lead_id IS NULL), count(*) FILTER (WHERE lead_id IS NOT NULL)
FROM {STAGE} WHERE email IS NULL
"""
# Matched, a row without an email leaves out a person id held by another lead than its own;
# among the rows sharing one, the first whose identity it is (no LinkedIn URL) keeps it.
RELEASE_PERSON = f"""
UPDATE {STAGE} s SET provider_person_id = NULL
FROM (SELECT row_number,
             row_number() OVER (
                 PARTITION BY provider_person_id
                 ORDER BY linkedin_url IS NOT NULL, row_number) > 1 AS taken
      FROM {STAGE} WHERE email IS NULL AND provider_person_id IS NOT NULL) f
WHERE s.row_number = f.row_number AND (
    f.taken
    OR EXISTS (SELECT 1 FROM leads l
               WHERE l.workspace_id = :ws AND l.source = '{SOURCE}'
                 AND l.provider_person_id = s.provider_person_id
                 AND l.id IS DISTINCT FROM s.lead_id))
"""
INSERT_UNMATCHED = _INSERT_LEADS.format(
    distinct="", where="WHERE s.email IS NULL AND s.lead_id IS NULL"
)
UPDATE_MATCHED = f"""
UPDATE leads SET {
    _UPDATE_SET.format(n="m", industry="industry", size="employee_count", custom="custom")
}
FROM (SELECT DISTINCT ON (s.lead_id) s.*, c.id AS company_id FROM {STAGE} s
      LEFT JOIN companies c ON c.workspace_id = :ws AND lower(c.domain) = lower(s.company_domain)
      WHERE s.email IS NULL AND s.lead_id IS NOT NULL ORDER BY s.lead_id, s.row_number) m
WHERE leads.id = m.lead_id AND leads.workspace_id = :ws
"""

# The leads a chunk created or updated (a skipped existing lead is not one of them).
TOUCHED = f"""
    SELECT l.id FROM {STAGE} s
    JOIN leads l ON l.workspace_id = :ws AND lower(l.email) = lower(s.email)
    WHERE s.email IS NOT NULL AND (:update OR l.id = s.id)
    UNION SELECT s.id FROM {STAGE} s WHERE s.email IS NULL AND s.lead_id IS NULL
    UNION SELECT s.lead_id FROM {STAGE} s
    WHERE s.email IS NULL AND s.lead_id IS NOT NULL AND :update
"""
# They join the import's list ...
JOIN_LIST = f"""
INSERT INTO lead_list_members (list_id, lead_id, workspace_id)
SELECT :list, j.id, :ws FROM ({TOUCHED}) j
ON CONFLICT DO NOTHING
"""
# ... and take the import's ICP, which their scores are computed against.
SET_ICP = f"""
UPDATE leads SET icp_id = :icp
WHERE leads.workspace_id = :ws AND leads.id IN ({TOUCHED})
  AND leads.icp_id IS DISTINCT FROM :icp
"""

ADVANCE = """
UPDATE lead_imports SET rows_read = rows_read + :rows, created = created + :created,
       updated = updated + :updated, skipped = skipped + :skipped,
       rejected = rejected + :rejected, warned = warned + :warned, updated_at = now()
WHERE id = :id AND rows_read = :cursor
"""


@dataclass(slots=True)
class ChunkCounts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    erased: int = 0  # rows of erased people, rejected (beyond the chunk's own rejections)
    # Whether a staged row with an email met a lead the workspace already had.
    met_existing: bool = False


async def driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def copy_in(session: AsyncSession, statement: str, data: bytes) -> None:
    if not data:
        return
    conn = await driver(session)
    async with conn.cursor() as cursor, cursor.copy(statement) as copy:
        await copy.write(data)


async def stage(session: AsyncSession, leads: bytes) -> None:
    """Copies one chunk's validated leads (COPY text, the rows of people already met earlier in
    the file left out: `validation_worker.without_rows`) into the transaction's staging table."""
    await session.execute(text(CREATE_STAGE))
    await copy_in(session, COPY_STAGE, leads)


ERASED_REASONS = json.dumps(
    [{"code": "erased", "field": None, "message": forgotten.PersonErased.message}]
)


async def drop_erased(session: AsyncSession, workspace_id: uuid.UUID) -> list[int]:
    """Takes the staged rows of erased people out of the chunk (`leads.forgotten`); their row
    numbers, for the rejections (which keep none of their values)."""
    if not await forgotten.any_erased(session, workspace_id):
        return []
    staged = await session.execute(
        text(f"SELECT row_number, email, phone, linkedin_url FROM {STAGE}")
    )
    wanted: dict[str, list[int]] = {}
    for number, email, phone, linkedin in staged:
        for digest in forgotten.digests(email=email, phone=phone, linkedin_url=linkedin):
            wanted.setdefault(digest, []).append(number)
    found = await forgotten.erased_among(session, workspace_id, wanted)
    rows = sorted({number for digest in found for number in wanted[digest]})
    if rows:
        await session.execute(
            text(f"DELETE FROM {STAGE} WHERE row_number = ANY(:rows)"), {"rows": rows}
        )
    return rows


async def reject_erased(
    session: AsyncSession, import_id: uuid.UUID, rows: list[tuple[int, int]]
) -> None:
    """(row number, line) of each erased person's row: rejected with reason `erased`, their
    values not kept."""
    if rows:
        await session.execute(
            text(
                "INSERT INTO lead_import_rejections (import_id, row_number, line, reasons, raw) "
                "SELECT :id, r.n, r.line, CAST(:reasons AS jsonb), '{}'::jsonb "
                "FROM unnest(CAST(:numbers AS int[]), CAST(:lines AS int[])) AS r(n, line)"
            ),
            {
                "id": import_id,
                "reasons": ERASED_REASONS,
                "numbers": [n for n, _ in rows],
                "lines": [line for _, line in rows],
            },
        )


async def upsert_companies(
    session: AsyncSession, workspace_id: uuid.UUID, domains: list[str] | None
) -> None:
    """Creates the staged rows' companies that do not exist yet; `domains` (lower-cased)
    narrows that to the ones the caller has not already written, None means all of them."""
    if domains is None:
        await session.execute(text(UPSERT_COMPANIES.replace("{only}", "")), {"ws": workspace_id})
    elif domains:
        await session.execute(
            text(UPSERT_COMPANIES.replace("{only}", "AND lower(company_domain) = ANY(:domains)")),
            {"ws": workspace_id, "domains": domains},
        )


async def write_staged(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    skipped: int,
    on_duplicate: str,
    list_id: uuid.UUID | None = None,
    icp_id: uuid.UUID | None = None,
    ascii_emails: bool = False,
    person_ids: bool = True,
    expect_new: bool = False,
) -> ChunkCounts:
    """Creates or updates the staged leads (their companies already written), which join
    `list_id` and take `icp_id` when given; `skipped` counts the rows `stage` left out.
    `ascii_emails`: every staged email is plain ASCII (and unique by lower-case, the file's
    dedupe having run); `person_ids`: some staged row may carry a provider's person id;
    `expect_new`: the rows with an email are likely all new to the workspace (`NEW_EMAIL_LEADS`)."""
    counts = await _write_staged(
        session, workspace_id, skipped=skipped, on_duplicate=on_duplicate,
        ascii_emails=ascii_emails, person_ids=person_ids, expect_new=expect_new,
    )  # fmt: skip
    touched = {"ws": workspace_id, "update": on_duplicate == "update"}
    if list_id is not None and counts.created + counts.updated:
        await session.execute(text(JOIN_LIST), {**touched, "list": list_id})
    if icp_id is not None and counts.created + counts.updated:
        await session.execute(text(SET_ICP), {**touched, "icp": icp_id})
    return counts


async def _insert_new(session: AsyncSession, ws: dict[str, Any]) -> Any:
    """`NEW_EMAIL_LEADS`'s counts, or None when an address is already the workspace's (the
    statement undone)."""
    try:
        async with session.begin_nested():
            return (await session.execute(text(NEW_EMAIL_LEADS), ws)).one()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != EMAIL_UNIQUE:
            raise
        return None


async def _write_staged(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    skipped: int,
    on_duplicate: str,
    ascii_emails: bool,
    person_ids: bool,
    expect_new: bool,
) -> ChunkCounts:
    counts = ChunkCounts(skipped=skipped)
    ws = {"ws": workspace_id}
    if person_ids:
        await session.execute(text(RELEASE_EMAIL_PERSON), ws)
    written = None
    if expect_new and ascii_emails:
        written = await _insert_new(session, ws)
    if written is None:
        statement = EMAIL_LEADS[on_duplicate, ascii_emails]
        written = (await session.execute(text(statement), ws)).one()
    created, updated, staged, without = written
    counts.met_existing = staged > created
    counts.created += created
    counts.updated += updated
    counts.skipped += staged - created - updated
    if without == 0:
        return counts
    await session.execute(text(MATCH_LINKEDIN), ws)
    if person_ids:
        await session.execute(text(MATCH_PERSON), ws)
    await session.execute(text(MATCH_NAME), ws)
    if person_ids:
        await session.execute(text(RELEASE_PERSON), ws)
    fresh, matched = (await session.execute(text(STAGED_WITHOUT_EMAIL))).one()
    if fresh:
        await session.execute(text(INSERT_UNMATCHED), ws)
    counts.created += fresh
    if matched and on_duplicate == "update":
        await session.execute(text(UPDATE_MATCHED), ws)
        counts.updated += matched
    else:
        counts.skipped += matched
    return counts
