"""Explainable fit scores: a lead against its ICP, 0 to 100, with one breakdown line per
criterion ("title matches 'VP Sales'" +30).

Rules (what the property tests hold):
- weights are relative: the criteria an ICP sets share 100 points in proportion to their
  weights (largest-remainder rounding, so the shares are integers that add up to exactly 100),
  and a lead matching all of them scores 100. With the default weights and every criterion
  set, the shares are the weights themselves (title 30, company size 20, ...);
- a matched criterion adds its share; an unmatched one is listed with 0 points and
  `matched: false`, so the breakdown also says what did not match; criteria the ICP leaves
  empty are not listed;
- penalties are negative points taken as they are: a risky or invalid email (from
  verification) and an excluded company (listed domain, or an existing customer when the ICP
  excludes them);
- a sum below 0 gets one extra line (`criterion` "floor") that brings it to 0, so the
  breakdown's points always add up to the score;
- with the same penalties, matching one more criterion never lowers the score.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.icps import criteria as vocab
from leadflood.leads.countries import country_code
from leadflood.models import Company, Icp, Lead

Item = dict[str, Any]
BATCH = 1000


def _item(criterion: str, label: str, points: int, matched: bool) -> Item:
    return {"criterion": criterion, "label": label, "points": points, "matched": matched}


def _listing(values: Sequence[str]) -> str:
    shown = ", ".join(values[:3])
    return shown + (f" (+{len(values) - 3} more)" if len(values) > 3 else "")


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value.strip() else None


def _first_match(
    criterion: str, wanted: Sequence[str], lead: Mapping[str, Any], company: Mapping[str, Any]
) -> tuple[str | None, str]:
    """The ICP value the lead matches (or None) and how to name the lead's side."""
    title = _text(lead, "title")
    industry = _text(company, "industry") or _text(lead, "company_industry")
    if criterion == "titles":
        found = next((w for w in wanted if title and vocab.title_matches(w, title)), None)
        return found, "title"
    if criterion == "seniorities":
        mine = vocab.seniority(_text(lead, "seniority") or "")
        return next((w for w in wanted if mine and vocab.seniority(w) == mine), None), "seniority"
    if criterion == "departments":
        mine = vocab.key(_text(lead, "department") or "")
        return next((w for w in wanted if mine and vocab.key(w) == mine), None), "department"
    if criterion == "industries":
        mine = vocab.fold(industry or "")
        found = next(
            (w for w in wanted if mine and (vocab.fold(w) in mine or mine in vocab.fold(w))), None
        )
        return found, "industry"
    if criterion == "employee_ranges":
        size = company.get("employee_count") or lead.get("company_size")
        if not isinstance(size, int):
            return None, "company size"
        for value in wanted:
            bounds = vocab.employee_range(value)
            if bounds and vocab.in_range(size, bounds):
                return vocab.range_label(bounds), "company size"
        return None, "company size"
    if criterion == "countries":
        mine = country_code(_text(lead, "country") or _text(company, "country") or "")
        for value in wanted:
            if mine and mine in {country_code(c) for c in vocab.expand_regions([value])}:
                return value, "country"
        return None, "country"
    if criterion == "keywords":
        haystack = " ".join(
            vocab.fold(v)
            for v in (
                title,
                industry,
                _text(lead, "company_name"),
                _text(company, "name"),
                _text(lead, "company_domain"),
            )
            if v
        )
        return next((w for w in wanted if vocab.fold(w) in haystack), None), "keyword"
    technologies = {vocab.fold(t) for t in company.get("technologies") or [] if isinstance(t, str)}
    return next((w for w in wanted if vocab.fold(w) in technologies), None), "technology"


_MATCHED = {
    "titles": "title matches '{}'",
    "seniorities": "seniority is {}",
    "departments": "department is {}",
    "industries": "industry matches '{}'",
    "employee_ranges": "company size {}",
    "countries": "based in {}",
    "keywords": "mentions '{}'",
    "technologies": "uses {}",
}


def _excluded(
    lead: Mapping[str, Any], company: Mapping[str, Any], criteria: Mapping[str, Any]
) -> str | None:
    host = vocab.domain(_text(company, "domain") or _text(lead, "company_domain") or "")
    if not host:
        email = _text(lead, "email")
        host = vocab.domain(email) if email else ""
    if not host:
        return None
    if any(
        vocab.domain_matches(host, vocab.domain(d)) for d in criteria.get("exclude_domains") or []
    ):
        return f"{host} is excluded"
    if criteria.get("exclude_existing_customers") and any(
        vocab.domain_matches(host, vocab.domain(d)) for d in criteria.get("customer_domains") or []
    ):
        return f"{host} is an existing customer"
    return None


def score(
    lead: Mapping[str, Any],
    company: Mapping[str, Any],
    criteria: Mapping[str, Any],
    weights: Mapping[str, Any] | None = None,
) -> tuple[int, list[Item]]:
    """`lead` holds lead columns by name (title, seniority, department, country, company_*,
    email, verification_status); `company` the company's (industry, employee_count, country,
    domain, technologies), possibly empty."""
    weight = vocab.weights_with_defaults(dict(weights or {}))
    wanted_by: dict[str, list[str]] = {}
    for criterion in vocab.SCORED:
        wanted = [w for w in criteria.get(criterion) or [] if isinstance(w, str) and w.strip()]
        if wanted:
            wanted_by[criterion] = wanted
    shares = vocab.shares({name: max(0, weight[name]) for name in wanted_by})
    items: list[Item] = []
    for criterion, wanted in wanted_by.items():
        found, side = _first_match(criterion, wanted, lead, company)
        if found is not None:
            label = _MATCHED[criterion].format(found)
            items.append(_item(criterion, label, shares[criterion], True))
        else:
            items.append(_item(criterion, f"{side} not in {_listing(wanted)}", 0, False))
    status = str(lead.get("verification_status") or "")
    if status in ("risky", "invalid"):
        items.append(_item(f"email_{status}", f"email {status}", weight[f"email_{status}"], True))
    reason = _excluded(lead, company, criteria)
    if reason is not None:
        items.append(_item("excluded", reason, weight["excluded"], True))
    total = sum(item["points"] for item in items)
    if total > 100:
        items.append(_item("cap", "capped at 100", 100 - total, True))
    elif total < 0:
        items.append(_item("floor", "floored at 0", -total, True))
    return max(0, min(100, total)), items


# ---- (re)scoring stored leads ----------------------------------------------------------------

LEAD_FIELDS = (
    "title",
    "seniority",
    "department",
    "country",
    "company_name",
    "company_domain",
    "company_industry",
    "company_size",
    "email",
    "verification_status",
)
COMPANY_FIELDS = ("domain", "name", "industry", "employee_count", "country", "technologies")

_UPDATE = text(
    """
    UPDATE leads AS l
    SET score = v.score, score_breakdown = COALESCE(v.breakdown, '[]'::jsonb), scored_at = :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, score int, breakdown jsonb)
    WHERE l.id = v.id AND l.workspace_id = :workspace_id
    """
)


async def rescore_leads(
    session: AsyncSession, workspace_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]
) -> int:
    """Recompute the score of these leads against their ICP (a lead without one gets no
    score). Call after anything that changes what a score reads: search, enrichment, import,
    verification, an ICP edit. Returns how many leads were scored."""
    done = 0
    ids = list(dict.fromkeys(lead_ids))
    for start in range(0, len(ids), BATCH):
        done += await _rescore_batch(session, workspace_id, ids[start : start + BATCH])
    return done


async def _rescore_batch(
    session: AsyncSession, workspace_id: uuid.UUID, ids: list[uuid.UUID]
) -> int:
    lead_columns = [getattr(Lead, name) for name in LEAD_FIELDS]
    company_columns = [getattr(Company, name).label(f"c_{name}") for name in COMPANY_FIELDS]
    rows = await session.execute(
        select(Lead.id, Icp.criteria, Icp.weights, *lead_columns, *company_columns)
        .outerjoin(Icp, (Icp.id == Lead.icp_id) & in_workspace(Icp, Lead.workspace_id))
        .outerjoin(
            Company, (Company.id == Lead.company_id) & in_workspace(Company, Lead.workspace_id)
        )
        .where(in_workspace(Lead, workspace_id), Lead.id.in_(ids))
    )
    scored: list[dict[str, Any]] = []
    for row in rows.mappings():
        if row["criteria"] is None:
            scored.append({"id": str(row["id"]), "score": None, "breakdown": []})
            continue
        lead = {name: row[name] for name in LEAD_FIELDS}
        company = {
            name: row[f"c_{name}"] for name in COMPANY_FIELDS if row[f"c_{name}"] is not None
        }
        value, items = score(lead, company, row["criteria"], row["weights"])
        scored.append({"id": str(row["id"]), "score": value, "breakdown": items})
    if scored:
        await session.execute(
            _UPDATE,
            {
                "rows": json.dumps(scored),
                "now": datetime.now(UTC),
                "workspace_id": workspace_id,
            },
        )
    return len(scored)


async def rescore_icp(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    icp_id: uuid.UUID,
    *,
    after: uuid.UUID | None = None,
) -> tuple[int, uuid.UUID | None]:
    """Rescore the next batch of the ICP's leads (by id, after `after`); returns how many and
    the last id, None when done. Callers commit between batches."""
    query = (
        select(Lead.id)
        .where(in_workspace(Lead, workspace_id), Lead.icp_id == icp_id)
        .order_by(Lead.id)
        .limit(BATCH)
    )
    if after is not None:
        query = query.where(Lead.id > after)
    ids = list((await session.scalars(query)).all())
    if not ids:
        return 0, None
    await _rescore_batch(session, workspace_id, ids)
    return len(ids), ids[-1] if len(ids) == BATCH else None
