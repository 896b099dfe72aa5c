"""People search over the sandbox universe.

Within one field of a `LeadQuery` the values are alternatives (any may match); across fields
all must match, as in Apollo. Titles match case-insensitively as a substring or when every word
of the query appears in the title ("VP Sales" finds "VP of Sales" and "Vice President, Sales";
"CTO" finds "Chief Technology Officer").
Keywords match a title, a company's name, domain or industry. Countries are ISO codes or names.
Employee ranges are "51-200", "51,200" or "5001+". Results come in universe order, so pages are
stable; about one person in ten has no email, as with real providers.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass

from leadflood.providers.base import LeadQuery, PermanentProviderError, SearchPage
from leadflood.providers.sandbox import data, names
from leadflood.providers.sandbox.universe import SandboxCompany, Universe

PROVIDER = "sandbox"
_RANGE = re.compile(r"^\s*(\d+)\s*(?:[-,]\s*(\d+)\s*|\+\s*|[-,]\s*)$")


@functools.cache
def default_universe() -> Universe:
    """The universe every sandbox adapter shares unless given another one."""
    return Universe()


def normalize_domain(value: str) -> str:
    domain = value.strip().lower().split("://")[-1].split("/")[0].rpartition("@")[2]
    return domain.removeprefix("www.")


def _fold(value: str) -> str:
    return names.ascii_fold(value).strip().lower()


def _key(value: str) -> str:
    return _fold(value).replace("-", "_").replace(" ", "_").removeprefix("master_")


def _employee_range(value: str) -> tuple[int, int]:
    match = _RANGE.match(value)
    if match is None:
        raise PermanentProviderError(
            f"sandbox: employee range {value!r} is not like '51-200' or '5001+'",
            provider=PROVIDER,
            code="invalid_query",
        )
    low, high = match.groups()
    return int(low), int(high) if high else 10**9


def _title_matches(query: str, title: int) -> bool:
    text = _fold(query)
    wanted = names.title_words(query)
    full = _fold(names.TITLES[title])
    return bool(text) and (text in full or (bool(wanted) and wanted <= names.TITLE_WORDS[title]))


def _company_matches_keyword(company: SandboxCompany, keyword: str) -> bool:
    text = _fold(keyword)
    return any(text in _fold(field) for field in (company.name, company.domain, company.industry))


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A LeadQuery resolved to sets of ids; `None` means "no constraint"."""

    titles: frozenset[int] | None
    seniorities: frozenset[str] | None
    departments: frozenset[str] | None
    countries: frozenset[int] | None
    companies: frozenset[int] | None
    keyword_titles: frozenset[int] | None
    keyword_companies: frozenset[int]


def compile_query(universe: Universe, query: LeadQuery) -> CompiledQuery:
    all_titles = range(len(names.TITLES))
    titles = [t for t in query.titles if t.strip()]
    keywords = [k for k in query.keywords if k.strip()]
    companies = universe.companies
    allowed = set(range(len(companies)))
    if query.industries:
        wanted = [_fold(i) for i in query.industries]
        allowed &= {c.index for c in companies if any(w in _fold(c.industry) for w in wanted)}
    if query.employee_ranges:
        bounds = [_employee_range(r) for r in query.employee_ranges]
        allowed &= {
            c.index for c in companies if any(lo <= c.employee_count <= hi for lo, hi in bounds)
        }
    if query.technologies:
        techs = {_fold(t) for t in query.technologies}
        allowed &= {c.index for c in companies if techs & {_fold(t) for t in c.technologies}}
    if query.exclude_domains:
        excluded = {normalize_domain(d) for d in query.exclude_domains}
        allowed -= {
            c.index
            for c in companies
            if c.domain in excluded or any(c.domain.endswith("." + d) for d in excluded)
        }
    company_filtered = bool(
        query.industries or query.employee_ranges or query.technologies or query.exclude_domains
    )
    codes = {data.COUNTRY_ALIASES.get(_fold(c)) for c in query.countries}
    country_ids = {n for n, c in enumerate(data.COUNTRIES) if c.code in codes}
    return CompiledQuery(
        titles=(
            frozenset(t for t in all_titles if any(_title_matches(q, t) for q in titles))
            if titles
            else None
        ),
        seniorities=frozenset(_key(s) for s in query.seniorities) if query.seniorities else None,
        departments=frozenset(_key(d) for d in query.departments) if query.departments else None,
        countries=frozenset(country_ids) if query.countries else None,
        companies=frozenset(allowed) if company_filtered else None,
        keyword_titles=(
            frozenset(t for t in all_titles if any(_title_matches(k, t) for k in keywords))
            if keywords
            else None
        ),
        keyword_companies=frozenset(
            c.index for c in companies if any(_company_matches_keyword(c, k) for k in keywords)
        ),
    )


def matching_indices(universe: Universe, query: LeadQuery) -> list[int]:
    """Universe indices of everyone the query matches, in universe order."""
    q = compile_query(universe, query)
    found: list[int] = []
    for i in range(len(universe)):
        core = universe.core(i)
        if (
            (q.titles is None or core.title in q.titles)
            and (q.seniorities is None or core.seniority in q.seniorities)
            and (q.departments is None or core.department in q.departments)
            and (q.countries is None or core.country in q.countries)
            and (q.companies is None or core.company in q.companies)
            and (
                q.keyword_titles is None
                or core.title in q.keyword_titles
                or core.company in q.keyword_companies
            )
        ):
            found.append(i)
    return found


class SandboxLeadSource:
    name = PROVIDER

    def __init__(self, universe: Universe | None = None, *, delay: float = 0.0) -> None:
        self.universe = universe or default_universe()
        self.delay = delay
        self._matches = functools.lru_cache(maxsize=32)(self._compute_matches)

    def _compute_matches(self, query: LeadQuery) -> tuple[int, ...]:
        return tuple(matching_indices(self.universe, query))

    async def search(self, query: LeadQuery, *, page: int, per_page: int) -> SearchPage:
        if page < 1 or per_page < 1:
            raise PermanentProviderError(
                f"sandbox: page ({page}) and per_page ({per_page}) start at 1",
                provider=PROVIDER,
                code="invalid_query",
            )
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        matches = self._matches(query)
        start = (page - 1) * per_page
        chunk = matches[start : start + per_page]
        return SearchPage(
            prospects=[self.universe.person(i) for i in chunk],
            page=page,
            total=len(matches),
            has_more=start + per_page < len(matches),
        )
