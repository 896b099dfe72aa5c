"""Explainable fit scores: a lead against its ICP, 0 to 100, with one breakdown line per
criterion ("title matches 'VP Sales'" +30).

Rules (what the property tests hold):
- weights are relative: the criteria an ICP sets share 100 points in proportion to their
  weights (largest-remainder rounding, so the shares are integers that add up to exactly 100).
  With the default weights and every criterion set, the shares are the weights themselves
  (title 30, company size 20, ...);
- each criterion earns its share times the lead's *fit* on it, a number from 0 to 1, rounded
  half up (`fit` on the breakdown line). The fit is graded, so that sorting by score ranks
  leads, not just sorts matches from misses:
  - a list is an order of preference for seniorities, company sizes, industries and countries:
    matching the first value listed is a fit of 1, each later value 0.1 less (at least 0.7);
  - near misses earn part: a seniority one step from a wanted one on the ladder (owner ...
    intern) 0.5, two steps 0.25; a company size within a factor 2 of a wanted range 0.5,
    within a factor 4 0.25; a country in the same region as a wanted one (DACH, Nordics, ...)
    0.5; an industry that only contains or is contained in a wanted one 0.75, that shares a
    word with it 0.4; a title with at least half the words of a wanted title 0.5;
  - anything else is 0, listed with `matched: false`, so the breakdown also says what did not
    match; criteria the ICP leaves empty are not listed;
- a lead matching every criterion on its first-listed value scores 100;
- penalties are negative points taken as they are: a risky or invalid email (from
  verification) and an excluded company (listed domain, or an existing customer when the ICP
  excludes them);
- a sum below 0 gets one extra line (`criterion` "floor") that brings it to 0, so the
  breakdown's points always add up to the score;
- with the same penalties, a better fit on any criterion never lowers the score.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.icps import criteria as vocab
from leadflood.leads.countries import country_code
from leadflood.models import Company, Icp, Lead

Item = dict[str, Any]
BATCH = 1000


def _item(criterion: str, label: str, points: int, matched: bool, fit: float | None = None) -> Item:
    item: Item = {"criterion": criterion, "label": label, "points": points, "matched": matched}
    if fit is not None:
        item["fit"] = fit
    return item


PREFERENCE_STEP = 0.1
PREFERENCE_FLOOR = 0.7
RANKED = ("seniorities", "employee_ranges", "industries", "countries")
_INDUSTRY_NOISE = frozenset({"and", "of", "the", "services", "other", "general"})


def preference(criterion: str, index: int) -> float:
    """The fit of matching the `index`-th value (from 0) the ICP lists for `criterion`."""
    if criterion not in RANKED:
        return 1.0
    return max(PREFERENCE_FLOOR, round(1.0 - PREFERENCE_STEP * index, 2))


def points_for(share: int, fit: float) -> int:
    """Rounded half up: monotone in the fit for a fixed share."""
    return int(share * fit + 0.5)


def _listing(values: Sequence[str]) -> str:
    shown = ", ".join(values[:3])
    return shown + (f" (+{len(values) - 3} more)" if len(values) > 3 else "")


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value.strip() else None


Candidate = tuple[float, str, bool]  # fit, the ICP value, whether the lead matched it exactly
Fit = tuple[float, str | None, bool, str]  # the best candidate and how to name the lead's side


def _best(candidates: list[Candidate]) -> tuple[float, str | None, bool]:
    best = max(candidates, key=lambda c: c[0], default=(0.0, "", False))
    return best if best[0] > 0 else (0.0, None, False)


def _industry_fit(wanted: str, mine: str) -> float:
    want = vocab.fold(wanted)
    if not mine or not want:
        return 0.0
    if want == mine:
        return 1.0
    if want in mine or mine in want:
        return 0.75
    words = set(vocab.title_words(want)) - _INDUSTRY_NOISE
    return 0.4 if words & (set(vocab.title_words(mine)) - _INDUSTRY_NOISE) else 0.0


def _size_fit(size: int, bounds: tuple[int, int | None]) -> float:
    if vocab.in_range(size, bounds):
        return 1.0
    low, high = bounds
    ratio = low / max(size, 1) if size < low else size / max(high or size, 1)
    return 0.5 if ratio <= 2 else 0.25 if ratio <= 4 else 0.0


def _region_of(code: str) -> set[str]:
    return {
        name
        for name, members in vocab.REGIONS.items()
        if code in {country_code(member) for member in members}
    }


def _fit(
    criterion: str, wanted: Sequence[str], lead: Mapping[str, Any], company: Mapping[str, Any]
) -> Fit:
    """How well the lead fits one criterion (0 to 1), the ICP value it fits best and how to
    name the lead's side."""
    title = _text(lead, "title")
    industry = _text(company, "industry") or _text(lead, "company_industry")
    ranked = [(preference(criterion, i), w) for i, w in enumerate(wanted)]
    if criterion == "titles":
        mine_words = vocab.title_words(title or "")
        candidates = []
        for pref, w in ranked:
            if title and vocab.title_matches(w, title):
                candidates.append((pref, w, True))
            elif title and (words := vocab.title_words(w)):
                shared = len(words & mine_words)
                candidates.append((0.5 if shared * 2 >= len(words) else 0.0, w, False))
        return (*_best(candidates), "title")
    if criterion == "seniorities":
        mine = vocab.seniority(_text(lead, "seniority") or "")
        candidates = []
        for pref, w in ranked:
            level = vocab.seniority(w)
            if mine is None or level is None:
                continue
            steps = abs(vocab.SENIORITIES.index(mine) - vocab.SENIORITIES.index(level))
            near = {1: 0.5, 2: 0.25}.get(steps, 0.0)
            candidates.append((pref if steps == 0 else near, w, steps == 0))
        return (*_best(candidates), "seniority")
    if criterion == "departments":
        mine = vocab.key(_text(lead, "department") or "")
        found = next((w for w in wanted if mine and vocab.key(w) == mine), None)
        return (1.0 if found else 0.0), found, True, "department"
    if criterion == "industries":
        mine = vocab.fold(industry or "")
        fits = [
            (pref * _industry_fit(w, mine), w, _industry_fit(w, mine) == 1.0) for pref, w in ranked
        ]
        return (*_best(fits), "industry")
    if criterion == "employee_ranges":
        size = company.get("employee_count") or lead.get("company_size")
        if not isinstance(size, int):
            return 0.0, None, False, "company size"
        candidates = []
        for pref, w in ranked:
            bounds = vocab.employee_range(w)
            if bounds:
                fit = _size_fit(size, bounds)
                exact = fit == 1.0
                candidates.append((pref if exact else fit, vocab.range_label(bounds), exact))
        return (*_best(candidates), "company size")
    if criterion == "countries":
        mine = country_code(_text(lead, "country") or _text(company, "country") or "")
        if not mine:
            return 0.0, None, False, "country"
        regions = _region_of(mine)
        candidates = []
        for pref, w in ranked:
            codes = {country_code(c) for c in vocab.expand_regions([w])}
            if mine in codes:
                candidates.append((pref, w, True))
            elif regions and any(regions & _region_of(c) for c in codes if c):
                candidates.append((0.5, w, False))
        return (*_best(candidates), "country")
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
        found = next((w for w in wanted if vocab.fold(w) in haystack), None)
        return (1.0 if found else 0.0), found, True, "keyword"
    technologies = {vocab.fold(t) for t in company.get("technologies") or [] if isinstance(t, str)}
    found = next((w for w in wanted if vocab.fold(w) in technologies), None)
    return (1.0 if found else 0.0), found, True, "technology"


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
        fit, found, exact, side = _fit(criterion, wanted, lead, company)
        points = points_for(shares[criterion], fit)
        if found is None:
            items.append(_item(criterion, f"{side} not in {_listing(wanted)}", 0, False, 0.0))
        elif exact:
            label = _MATCHED[criterion].format(found)
            items.append(_item(criterion, label, points, True, fit))
        else:
            label = f"{side} close to '{found}'"
            items.append(_item(criterion, label, points, True, fit))
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
    SET score = v.score, score_breakdown = COALESCE(v.breakdown, '[]'::jsonb), scored_at = :now,
        score_icp_id = v.icp_id
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS v(id uuid, score int, breakdown jsonb, icp_id uuid)
    WHERE l.id = v.id AND l.workspace_id = :workspace_id
    """
)


async def rescore_leads(
    session: AsyncSession, workspace_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]
) -> int:
    """Recompute the score of these leads against their ICP, or, for a lead without one,
    against each of the workspace's ICPs, keeping the best (no ICP at all: no score). Call
    after anything that changes what a score reads: creation, an edit, search, enrichment,
    import, verification, an ICP edit. Returns how many leads were scored."""
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
        select(Lead.id, Lead.icp_id, Icp.criteria, Icp.weights, *lead_columns, *company_columns)
        .outerjoin(Icp, (Icp.id == Lead.icp_id) & in_workspace(Icp, Lead.workspace_id))
        .outerjoin(
            Company, (Company.id == Lead.company_id) & in_workspace(Company, Lead.workspace_id)
        )
        .where(in_workspace(Lead, workspace_id), Lead.id.in_(ids))
    )
    icps: list[tuple[uuid.UUID, dict[str, Any], dict[str, Any]]] | None = None
    scored: list[dict[str, Any]] = []
    for row in rows.mappings():
        lead = {name: row[name] for name in LEAD_FIELDS}
        company = {
            name: row[f"c_{name}"] for name in COMPANY_FIELDS if row[f"c_{name}"] is not None
        }
        if row["criteria"] is not None:
            candidates = [(row["icp_id"], row["criteria"], row["weights"])]
        else:
            if icps is None:
                icps = await _workspace_icps(session, workspace_id)
            candidates = icps
        best: tuple[int, list[Item], uuid.UUID] | None = None
        for icp_id, criteria, weights in candidates:
            value, items = score(lead, company, criteria, weights)
            if best is None or value > best[0]:
                best = (value, items, icp_id)
        if best is None:
            scored.append({"id": str(row["id"]), "score": None, "breakdown": [], "icp_id": None})
        else:
            value, items, icp_id = best
            scored.append(
                {"id": str(row["id"]), "score": value, "breakdown": items, "icp_id": str(icp_id)}
            )
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


async def _workspace_icps(
    session: AsyncSession, workspace_id: uuid.UUID
) -> list[tuple[uuid.UUID, dict[str, Any], dict[str, Any]]]:
    rows = await session.execute(
        select(Icp.id, Icp.criteria, Icp.weights)
        .where(in_workspace(Icp, workspace_id))
        .order_by(Icp.created_at, Icp.id)
    )
    return [(icp_id, criteria, weights) for icp_id, criteria, weights in rows]


async def rescore_icp(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    icp_id: uuid.UUID | None,
    *,
    after: uuid.UUID | None = None,
) -> tuple[int, uuid.UUID | None]:
    """Rescore the next batch of the leads an ICP change can move (by id, after `after`): the
    ICP's own, and every lead without an ICP (its best fit may change). `icp_id` None: only
    those without. Returns how many and the last id, None when done. Callers commit between
    batches."""
    which = (
        Lead.icp_id.is_(None)
        if icp_id is None
        else or_(Lead.icp_id == icp_id, Lead.icp_id.is_(None))
    )
    query = (
        select(Lead.id)
        .where(in_workspace(Lead, workspace_id), which)
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
