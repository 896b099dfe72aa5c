from __future__ import annotations

import functools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflood.providers.base import LeadQuery, PermanentProviderError, Prospect
from leadflood.providers.sandbox import SandboxLeadSource, Universe, default_universe

COUNTRY_NAMES = {"germany": "DE", "united states": "US", "france": "FR", "japan": "JP"}
TITLES = ["VP Sales", "engineer", "Head of Growth", "founder", "CTO", "director", "Recruiter"]
INDUSTRIES = ["software", "Financial Services", "retail", "health"]
RANGES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001+", "51,200"]
COUNTRIES = ["DE", "us", "Germany", "United States", "fr", "JP"]
KEYWORDS = ["payments", "cloud", "data", "sales", "media"]
TECHS = ["Salesforce", "hubspot", "AWS", "Stripe", "kubernetes"]
SENIORITIES = ["owner", "founder", "c_suite", "vp", "head", "director", "manager", "senior"]
DEPARTMENTS = ["engineering", "sales", "marketing", "executive", "data", "finance"]


def _words(text: str) -> set[str]:
    text = text.lower().replace("vice president", "vp")
    for role, short in (("technology", "cto"), ("marketing", "cmo"), ("financial", "cfo")):
        text = text.replace(f"chief {role} officer", short)
    text = text.replace("chief operating officer", "coo").replace(
        "chief information officer", "cio"
    )
    return {w for w in re.split(r"[^a-z0-9&]+", text) if w and w not in {"of", "and", "&"}}


def _title_ok(query: str, title: str) -> bool:
    return query.lower() in title.lower() or _words(query) <= _words(title)


def _range_ok(text: str, size: int) -> bool:
    low, _, high = text.replace(",", "-").replace("+", "-").partition("-")
    return int(low) <= size <= (int(high) if high else 10**9)


def matches(p: Prospect, q: LeadQuery) -> bool:
    """An oracle written from the documented semantics, independent of the implementation."""
    assert p.title and p.company_name and p.company_domain and p.company_industry
    assert p.company_size is not None
    country = p.raw["country_code"]
    company_text = f"{p.company_name} {p.company_domain} {p.company_industry}".lower()
    checks = [
        not q.titles or any(_title_ok(t, p.title) for t in q.titles),
        not q.seniorities or p.seniority in q.seniorities,
        not q.departments or p.department in q.departments,
        not q.industries or any(i.lower() in p.company_industry.lower() for i in q.industries),
        not q.employee_ranges or any(_range_ok(r, p.company_size) for r in q.employee_ranges),
        not q.countries
        or any(COUNTRY_NAMES.get(c.lower(), c.upper()) == country for c in q.countries),
        not q.keywords
        or any(_title_ok(k, p.title) or k.lower() in company_text for k in q.keywords),
        not q.technologies
        or {t.lower() for t in q.technologies} & {t.lower() for t in p.technologies},
        p.company_domain not in q.exclude_domains,
    ]
    return all(checks)


@functools.cache
def _everyone(universe: Universe) -> list[Prospect]:
    return list(universe.iter_people())


def _some(values: list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), max_size=2, unique=True).map(tuple)


queries = st.builds(
    LeadQuery,
    titles=_some(TITLES),
    seniorities=_some(SENIORITIES),
    departments=_some(DEPARTMENTS),
    industries=_some(INDUSTRIES),
    employee_ranges=_some(RANGES),
    countries=_some(COUNTRIES),
    keywords=_some(KEYWORDS),
    technologies=_some(TECHS),
)


async def _all_pages(source: SandboxLeadSource, query: LeadQuery, per_page: int) -> list[str]:
    seen: list[str] = []
    page = 1
    while True:
        result = await source.search(query, page=page, per_page=per_page)
        seen += [p.source_id for p in result.prospects]
        assert result.total is not None and result.page == page
        assert len(result.prospects) <= per_page
        if not result.has_more:
            return seen
        assert len(result.prospects) == per_page
        page += 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries, per_page=st.integers(min_value=1, max_value=400))
async def test_results_are_exactly_the_matches_and_pages_cover_them_once(
    query: LeadQuery, per_page: int, small_universe: Universe
) -> None:
    source = SandboxLeadSource(small_universe)
    expected = [p.source_id for p in _everyone(small_universe) if matches(p, query)]
    seen = await _all_pages(source, query, per_page)
    assert seen == expected
    first = await source.search(query, page=1, per_page=per_page)
    assert first.total == len(expected)


async def test_every_result_matches_on_the_full_universe() -> None:
    source = SandboxLeadSource()
    query = LeadQuery(titles=("VP Sales", "Head of Growth"), countries=("United States", "DE"))
    result = await source.search(query, page=1, per_page=100)
    assert result.total and result.total > 10
    assert all(matches(p, query) for p in result.prospects)
    titles = {p.title for p in result.prospects}
    assert {"VP Sales", "Vice President, Sales", "Head of Growth"} <= titles


async def test_full_scan_of_the_default_universe_works() -> None:
    source = SandboxLeadSource()
    everyone = await source.search(LeadQuery(), page=1, per_page=50)
    assert everyone.total == len(default_universe()) == 40_000
    assert everyone.has_more
    engineers = await source.search(LeadQuery(titles=("engineer",)), page=3, per_page=25)
    assert engineers.total and 2_000 < engineers.total < 40_000
    assert all("engineer" in (p.title or "").lower() for p in engineers.prospects)


async def test_order_is_stable_and_some_people_have_no_email(small_universe: Universe) -> None:
    source = SandboxLeadSource(small_universe)
    query = LeadQuery(seniorities=("senior", "entry"))
    first = await source.search(query, page=2, per_page=200)
    again = await SandboxLeadSource(small_universe).search(query, page=2, per_page=200)
    assert first == again
    indices = [p.raw["universe_index"] for p in first.prospects]
    assert indices == sorted(indices)
    assert 0 < sum(p.email is None for p in first.prospects) < 50


async def test_exclude_domains_and_unknown_country(small_universe: Universe) -> None:
    source = SandboxLeadSource(small_universe)
    top = await source.search(LeadQuery(), page=1, per_page=5)
    domain = top.prospects[0].company_domain
    assert domain is not None
    excluded = await _all_pages(
        source, LeadQuery(exclude_domains=(f"https://www.{domain}/",)), per_page=1_000
    )
    assert len(excluded) < len(small_universe)
    assert all(
        small_universe.person(int(s.split(":")[2])).company_domain != domain for s in excluded
    )
    nowhere = await source.search(LeadQuery(countries=("Atlantis",)), page=1, per_page=10)
    assert nowhere.total == 0 and nowhere.prospects == [] and not nowhere.has_more


async def test_page_past_the_end_is_empty(small_universe: Universe) -> None:
    source = SandboxLeadSource(small_universe)
    result = await source.search(LeadQuery(), page=1_000, per_page=100)
    assert result.prospects == [] and not result.has_more and result.total == 3_000


@pytest.mark.parametrize(
    ("query", "page", "per_page"),
    [
        (LeadQuery(), 0, 10),
        (LeadQuery(), 1, 0),
        (LeadQuery(employee_ranges=("lots",)), 1, 10),
    ],
)
async def test_invalid_queries_are_permanent_errors(
    query: LeadQuery, page: int, per_page: int, small_universe: Universe
) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        await SandboxLeadSource(small_universe).search(query, page=page, per_page=per_page)
    assert caught.value.code == "invalid_query" and caught.value.provider == "sandbox"
