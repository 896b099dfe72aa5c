"""Storing one page of search results, set-based: companies upserted by lower(domain), leads
found by the provider's person id (a lead this source already found), else by lower(email), else
by LinkedIn profile, else created under that person id; every result kept with its raw payload
and what became of it. Existing values are never overwritten, only gaps filled."""

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
from leadflood.leads import forgotten
from leadflood.leads import identities as value_checks
from leadflood.leads.countries import country_code
from leadflood.models import Lead, SearchOutcome, SearchRun
from leadflood.providers.base import Prospect
from leadflood.searches.sql import (
    FILL_BY_ID,
    INSERT_RESULTS,
    INSERT_WITHOUT_EMAIL,
    UPSERT_BY_EMAIL,
    UPSERT_COMPANIES,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


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
    email: str | None = None
    linkedin: str | None = None
    person_id: str | None = None  # the provider's id for the person (Prospect.source_id)
    company_key: str | None = None
    lead_id: uuid.UUID | None = None
    outcome: SearchOutcome | None = None
    reason: str | None = None
    # The digest of an erased person's identity: what their result keeps instead of them.
    erased: str | None = None


NOTHING_IDENTIFIES = (
    "no email, no LinkedIn profile URL and no provider person id: nothing identifies this "
    "person to deduplicate or enrich"
)


def candidate(prospect: Prospect, icp_id: uuid.UUID) -> Candidate:
    found = Candidate(prospect)
    email = (prospect.email or "").strip()
    # The canonical profile URL, as CSV import keeps it, so both dedupe email-less people alike.
    given = (prospect.linkedin_url or "").strip()
    linkedin = value_checks.linkedin_url(given) if given else None
    person_id = _clip("provider_person_id", prospect.source_id)
    if email and not _EMAIL.match(email):
        found.outcome, found.reason = SearchOutcome.rejected, f"invalid email {email[:80]!r}"
        return found
    if not email and not linkedin and not person_id:
        found.outcome, found.reason = SearchOutcome.rejected, NOTHING_IDENTIFIES
        if given:
            found.reason = f"{NOTHING_IDENTIFIES} ({given[:80]!r} is not a LinkedIn profile URL)"
        return found
    domain = vocab.domain(prospect.company_domain) if prospect.company_domain else None
    found.company_key = domain or None
    country = prospect.country
    found.values = {
        "id": str(uuid.uuid4()),
        "email": _clip("email", email or None),
        "provider_person_id": person_id,
        **{
            name: _clip(name, getattr(prospect, name))
            for name in ("first_name", "last_name", "title", "seniority", "department")
        },
        "phone": _phone(prospect.phone),
        "linkedin_url": _clip("linkedin_url", linkedin),
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
    found.email = found.values["email"]
    found.linkedin = found.values["linkedin_url"]
    found.person_id = person_id
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


def _params(run: SearchRun, rows: list[Candidate]) -> dict[str, Any]:
    return {
        "workspace_id": run.workspace_id,
        "source": run.source,
        "rows": json.dumps([c.values for c in rows]),
    }


async def _known_people(
    session: AsyncSession, run: SearchRun, accepted: list[Candidate]
) -> dict[str, uuid.UUID]:
    """The leads this source already found, by the provider's person id."""
    ids = [c.person_id for c in accepted if c.person_id]
    if not ids:
        return {}
    found = await session.execute(
        text(
            "SELECT provider_person_id, id FROM leads WHERE workspace_id = :workspace_id "
            "AND source = :source AND provider_person_id = ANY(:ids)"
        ),
        {"workspace_id": run.workspace_id, "source": run.source, "ids": ids},
    )
    return {person_id: lead_id for person_id, lead_id in found}


async def _by_email(session: AsyncSession, run: SearchRun, firsts: list[Candidate]) -> None:
    result = await session.execute(UPSERT_BY_EMAIL, _params(run, firsts))
    changed = {key: (lead_id, inserted) for lead_id, key, inserted in result}
    missing = [c.email.lower() for c in firsts if c.email and c.email.lower() not in changed]
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
        assert item.email is not None
        key = item.email.lower()
        if key in changed:
            item.lead_id, inserted = changed[key]
            item.outcome = SearchOutcome.created if inserted else SearchOutcome.updated
        else:
            item.lead_id = unchanged[key]
            item.outcome, item.reason = SearchOutcome.duplicate, "already in the workspace"


async def _fill(session: AsyncSession, run: SearchRun, old: list[Candidate]) -> None:
    """Fill the gaps of leads already found (`lead_id` set); updated if anything changed."""
    for item in old:
        item.values["id"] = str(item.lead_id)
    result = await session.execute(FILL_BY_ID, _params(run, old))
    filled = set(result.scalars())
    for item in old:
        if item.lead_id in filled:
            item.outcome = SearchOutcome.updated
        else:
            item.outcome, item.reason = SearchOutcome.duplicate, "already in the workspace"


async def _by_linkedin(session: AsyncSession, run: SearchRun, firsts: list[Candidate]) -> None:
    found = await session.execute(
        text(
            "SELECT DISTINCT ON (linkedin_url) linkedin_url, id FROM leads "
            "WHERE workspace_id = :workspace_id AND linkedin_url = ANY(:keys) "
            "ORDER BY linkedin_url, created_at"
        ),
        {"workspace_id": run.workspace_id, "keys": [c.linkedin for c in firsts]},
    )
    existing = {url: lead_id for url, lead_id in found}
    for item in firsts:
        item.lead_id = existing.get(item.linkedin)
    old = [c for c in firsts if c.lead_id is not None]
    if old:
        await _fill(session, run, old)
    await _insert(session, run, [c for c in firsts if c.lead_id is None])


async def _insert(session: AsyncSession, run: SearchRun, new: list[Candidate]) -> None:
    if not new:
        return
    await session.execute(INSERT_WITHOUT_EMAIL, _params(run, new))
    for item in new:
        item.lead_id, item.outcome = uuid.UUID(item.values["id"]), SearchOutcome.created


async def _without_erased(
    session: AsyncSession, run: SearchRun, accepted: list[Candidate]
) -> list[Candidate]:
    """Leaves out erased people (`leads.forgotten`): rejected with reason "erased", and their
    result keeps a digest instead of the provider's payload and id."""
    if not accepted or not await forgotten.any_erased(session, run.workspace_id):
        return accepted
    digests = {
        id(item): forgotten.digests(
            email=item.email, phone=item.values.get("phone"), linkedin_url=item.linkedin,
            source=run.source, person_id=item.person_id,
        )
        for item in accepted
    }  # fmt: skip
    found = await forgotten.erased_among(
        session, run.workspace_id, [d for ds in digests.values() for d in ds]
    )
    kept = []
    for item in accepted:
        hit = next((d for d in digests[id(item)] if d in found), None)
        if hit is None:
            kept.append(item)
        else:
            item.erased, item.outcome, item.reason = hit, SearchOutcome.rejected, forgotten.REASON
    return kept


def _slot(item: Candidate, known: dict[str, uuid.UUID]) -> tuple[str, str]:
    """What identifies the person, strongest first: a lead this source already found under
    their person id, then the email, the LinkedIn profile, and at last the person id alone."""
    if item.person_id in known:
        return "lead", str(known[item.person_id])
    if item.email:
        return "email", item.email.lower()
    if item.linkedin:
        return "linkedin", item.linkedin
    assert item.person_id is not None
    return "person", item.person_id


async def store_page(
    session: AsyncSession, run: SearchRun, page: int, prospects: list[Prospect]
) -> tuple[Counter[SearchOutcome], list[uuid.UUID]]:
    """Store one page; returns the outcome counts (one per prospect) and the ids of the leads
    it touched."""
    items: list[Candidate] = []
    accepted: list[Candidate] = []
    repeats: list[tuple[Candidate, Candidate]] = []
    by_source_id: dict[str, Candidate] = {}
    for prospect in prospects:
        item = candidate(prospect, run.icp_id)
        items.append(item)
        if item.outcome is not None:
            continue
        first = by_source_id.get(prospect.source_id) if prospect.source_id else None
        if first is not None:
            repeats.append((item, first))
            continue
        by_source_id[prospect.source_id] = item
        accepted.append(item)
    if accepted:
        # Look-ups then writes (known person ids, LinkedIn URLs, which no unique index covers)
        # are serialised per workspace by the very lock a CSV import's writer takes
        # (import_writer.py), taken before any row lock so that the two never deadlock.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"lead-import:{run.workspace_id}"},
        )
    accepted = await _without_erased(session, run, accepted)
    companies = await _companies(session, run, accepted)
    known = await _known_people(session, run, accepted)
    firsts: dict[tuple[str, str], Candidate] = {}
    for item in accepted:
        if item.company_key is not None:
            item.values["company_id"] = str(companies[item.company_key])
        slot = _slot(item, known)
        if slot in firsts:
            repeats.append((item, firsts[slot]))
        else:
            firsts[slot] = item
    groups: dict[str, list[Candidate]] = {"lead": [], "email": [], "linkedin": [], "person": []}
    for (kind, _), item in firsts.items():
        groups[kind].append(item)
    if groups["email"]:
        await _by_email(session, run, groups["email"])
    if groups["linkedin"]:
        await _by_linkedin(session, run, groups["linkedin"])
    await _insert(session, run, groups["person"])
    if groups["lead"]:
        claimed: set[str] = set()
        for item in groups["lead"]:
            assert item.person_id is not None
            item.lead_id = known[item.person_id]
            # Two people of one page giving one address: only the first may take it.
            email = (item.email or "").lower()
            if email in claimed:
                item.values["email"] = None
            elif email:
                claimed.add(email)
        # Last: an email the page's other people took is then already someone else's.
        await _fill(session, run, groups["lead"])
    for item, first in repeats:
        if first.erased is not None:
            item.erased, item.outcome, item.reason = first.erased, first.outcome, first.reason
            continue
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
                        "source_id": c.erased or c.prospect.source_id[:200],
                        "raw": {} if c.erased else _payload(c.prospect),
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
