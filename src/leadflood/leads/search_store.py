"""Storing one page of search results, set-based: companies upserted by lower(domain), leads by
lower(email) (or by LinkedIn profile when there is no email), every result kept with its raw
payload and what became of it. Existing values are never overwritten, only gaps filled."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import String, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icps import criteria as vocab
from leadflood.leads.countries import country_code
from leadflood.models import Lead, SearchOutcome, SearchRun
from leadflood.providers.base import Prospect

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
# Lead columns a search fills when they are empty, with their SQL types.
FILL: dict[str, str] = {
    "first_name": "text",
    "last_name": "text",
    "title": "text",
    "seniority": "text",
    "department": "text",
    "phone": "text",
    "linkedin_url": "text",
    "company_name": "text",
    "company_domain": "text",
    "company_industry": "text",
    "company_size": "int",
    "city": "text",
    "country": "text",
    "timezone": "text",
    "company_id": "uuid",
    "icp_id": "uuid",
}
_RECORD = ", ".join(
    f"{name} {kind}" for name, kind in {"id": "uuid", "email": "text", **FILL}.items()
)
_FILL_SET = ", ".join(f"{c} = COALESCE(leads.{c}, EXCLUDED.{c})" for c in FILL)
_CHANGES = " OR ".join(f"(leads.{c} IS NULL AND EXCLUDED.{c} IS NOT NULL)" for c in FILL)
_INSERT_COLUMNS = ", ".join(["id", "email", *FILL])
_INSERT_VALUES = ", ".join(f"v.{c}" for c in ["id", "email", *FILL])

UPSERT_BY_EMAIL = text(
    f"""
    INSERT INTO leads (workspace_id, source, status, custom_fields, {_INSERT_COLUMNS})
    SELECT :workspace_id, :source, 'new', '{{}}'::jsonb, {_INSERT_VALUES}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORD})
    ON CONFLICT (workspace_id, lower(email)) WHERE email IS NOT NULL
    DO UPDATE SET {_FILL_SET}, updated_at = now()
    WHERE {_CHANGES}
    RETURNING id, lower(email) AS key, (xmax = 0) AS inserted
    """
)
INSERT_WITHOUT_EMAIL = text(
    f"""
    INSERT INTO leads (workspace_id, source, status, custom_fields, {_INSERT_COLUMNS})
    SELECT :workspace_id, :source, 'new', '{{}}'::jsonb, {_INSERT_VALUES}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORD})
    RETURNING id, linkedin_url AS key
    """
)
FILL_BY_ID = text(
    f"""
    UPDATE leads SET {_FILL_SET.replace("EXCLUDED.", "v.")}, updated_at = now()
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORD})
    WHERE leads.id = v.id AND leads.workspace_id = :workspace_id
      AND ({_CHANGES.replace("EXCLUDED.", "v.")})
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


def _limits() -> dict[str, int]:
    return {
        column.name: column.type.length
        for column in Lead.__table__.columns
        if isinstance(column.type, String) and column.type.length
    }


LIMITS = _limits()


def _clip(name: str, value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip() or None
        if value is not None and name in LIMITS:
            value = value[: LIMITS[name]]
    return value


def _phone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass
class Candidate:
    prospect: Prospect
    values: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # lower(email), or the LinkedIn URL when there is no email
    by_email: bool = True
    company_key: str | None = None
    lead_id: uuid.UUID | None = None
    outcome: SearchOutcome | None = None
    reason: str | None = None


def candidate(prospect: Prospect, icp_id: uuid.UUID) -> Candidate:
    found = Candidate(prospect)
    email = (prospect.email or "").strip()
    linkedin = (prospect.linkedin_url or "").strip()
    if email and not _EMAIL.match(email):
        found.outcome, found.reason = SearchOutcome.rejected, f"invalid email {email[:80]!r}"
        return found
    if not email and not linkedin:
        found.outcome, found.reason = SearchOutcome.rejected, "no email and no LinkedIn profile"
        return found
    domain = vocab.domain(prospect.company_domain) if prospect.company_domain else None
    found.company_key = domain or None
    country = prospect.country
    found.values = {
        "id": str(uuid.uuid4()),
        "email": _clip("email", email or None),
        **{
            name: _clip(name, getattr(prospect, name))
            for name in ("first_name", "last_name", "title", "seniority", "department")
        },
        "phone": _phone(prospect.phone),
        "linkedin_url": _clip("linkedin_url", linkedin or None),
        "company_name": _clip("company_name", prospect.company_name),
        "company_domain": _clip("company_domain", domain),
        "company_industry": _clip("company_industry", prospect.company_industry),
        "company_size": prospect.company_size,
        "city": _clip("city", prospect.city),
        "country": _clip("country", (country_code(country) or country) if country else None),
        "timezone": _clip("timezone", prospect.timezone),
        "company_id": None,
        "icp_id": str(icp_id),
    }
    found.by_email = bool(email)
    found.key = email.lower() if email else found.values["linkedin_url"]
    return found


def _payload(prospect: Prospect) -> dict[str, Any]:
    return dataclasses.asdict(prospect)


async def _companies(
    session: AsyncSession, run: SearchRun, accepted: list[Candidate]
) -> dict[str, uuid.UUID]:
    rows: dict[str, dict[str, Any]] = {}
    for item in accepted:
        key = item.company_key
        if key is None or key in rows:
            continue
        p = item.prospect
        rows[key] = {
            "id": str(uuid.uuid4()),
            "domain": key[:253],
            "name": (p.company_name or None) and p.company_name[:200],
            "industry": (p.company_industry or None) and p.company_industry[:120],
            "employee_count": p.company_size,
            "country": country_code(p.company_country) or p.company_country[:80]
            if p.company_country
            else None,
            "technologies": list(p.technologies),
        }
    if not rows:
        return {}
    result = await session.execute(
        UPSERT_COMPANIES,
        {
            "workspace_id": run.workspace_id,
            "source": run.source,
            "rows": json.dumps(list(rows.values())),
        },
    )
    return {key: company_id for company_id, key in result}


async def _by_email(session: AsyncSession, run: SearchRun, firsts: list[Candidate]) -> None:
    params = {"workspace_id": run.workspace_id, "source": run.source}
    rows = [c.values for c in firsts]
    result = await session.execute(UPSERT_BY_EMAIL, {**params, "rows": json.dumps(rows)})
    changed = {key: (lead_id, inserted) for lead_id, key, inserted in result}
    missing = [c.key for c in firsts if c.key not in changed]
    unchanged: dict[str, uuid.UUID] = {}
    if missing:
        found = await session.execute(
            text(
                "SELECT id, lower(email) FROM leads "
                "WHERE workspace_id = :workspace_id AND lower(email) = ANY(:keys)"
            ),
            {"workspace_id": run.workspace_id, "keys": missing},
        )
        unchanged = {key: lead_id for lead_id, key in found}
    for item in firsts:
        assert item.key is not None
        if item.key in changed:
            item.lead_id, inserted = changed[item.key]
            item.outcome = SearchOutcome.created if inserted else SearchOutcome.updated
        else:
            item.lead_id = unchanged[item.key]
            item.outcome, item.reason = SearchOutcome.duplicate, "already in the workspace"


async def _by_linkedin(session: AsyncSession, run: SearchRun, firsts: list[Candidate]) -> None:
    """Without a unique index to lean on, one advisory lock per workspace serialises the
    lookup-then-insert of email-less prospects."""
    params = {"workspace_id": run.workspace_id, "source": run.source}
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('leads.linkedin:' || :ws, 0))"),
        {"ws": str(run.workspace_id)},
    )
    found = await session.execute(
        text(
            "SELECT DISTINCT ON (linkedin_url) linkedin_url, id FROM leads "
            "WHERE workspace_id = :workspace_id AND linkedin_url = ANY(:keys) "
            "ORDER BY linkedin_url, created_at"
        ),
        {"workspace_id": run.workspace_id, "keys": [c.key for c in firsts]},
    )
    existing = {url: lead_id for url, lead_id in found}
    old = [c for c in firsts if c.key in existing]
    new = [c for c in firsts if c.key not in existing]
    for item in old:
        item.values["id"] = str(existing[item.key])
        item.lead_id = existing[item.key]
    filled: set[uuid.UUID] = set()
    if old:
        result = await session.execute(
            FILL_BY_ID, {**params, "rows": json.dumps([c.values for c in old])}
        )
        filled = set(result.scalars())
    for item in old:
        if item.lead_id in filled:
            item.outcome = SearchOutcome.updated
        else:
            item.outcome, item.reason = SearchOutcome.duplicate, "already in the workspace"
    if new:
        result = await session.execute(
            INSERT_WITHOUT_EMAIL, {**params, "rows": json.dumps([c.values for c in new])}
        )
        ids = {key: lead_id for lead_id, key in result}
        for item in new:
            item.lead_id, item.outcome = ids[item.key], SearchOutcome.created


async def store_page(
    session: AsyncSession, run: SearchRun, page: int, prospects: list[Prospect]
) -> tuple[Counter[SearchOutcome], list[uuid.UUID]]:
    """Store one page; returns the outcome counts and the ids of the leads it touched."""
    items: list[Candidate] = []
    seen_ids: set[str] = set()
    for prospect in prospects:
        if prospect.source_id in seen_ids:
            continue
        seen_ids.add(prospect.source_id)
        items.append(candidate(prospect, run.icp_id))
    accepted = [c for c in items if c.outcome is None]
    companies = await _companies(session, run, accepted)
    firsts: dict[tuple[bool, str], Candidate] = {}
    repeats: list[tuple[Candidate, Candidate]] = []
    for item in accepted:
        assert item.key is not None
        if item.company_key is not None:
            item.values["company_id"] = str(companies[item.company_key])
        slot = (item.by_email, item.key.lower() if item.by_email else item.key)
        if slot in firsts:
            repeats.append((item, firsts[slot]))
        else:
            firsts[slot] = item
    with_email = [c for (by_email, _), c in firsts.items() if by_email]
    without_email = [c for (by_email, _), c in firsts.items() if not by_email]
    if with_email:
        await _by_email(session, run, with_email)
    if without_email:
        await _by_linkedin(session, run, without_email)
    for item, first in repeats:
        item.lead_id = first.lead_id
        item.outcome, item.reason = SearchOutcome.duplicate, "repeated in this page"
    await session.execute(
        INSERT_RESULTS,
        {
            "workspace_id": run.workspace_id,
            "run_id": run.id,
            "page": page,
            "rows": json.dumps(
                [
                    {
                        "source_id": c.prospect.source_id[:200],
                        "raw": _payload(c.prospect),
                        "lead_id": str(c.lead_id) if c.lead_id else None,
                        "outcome": str(c.outcome),
                        "reason": c.reason,
                    }
                    for c in items
                ],
                default=str,
            ),
        },
    )
    counts: Counter[SearchOutcome] = Counter(c.outcome for c in items if c.outcome is not None)
    touched = list(dict.fromkeys(c.lead_id for c in items if c.lead_id is not None))
    return counts, touched
