"""A synthetic, deterministic prospect universe: thousands of companies, tens of thousands of
people, every one derived from `(seed, index)`.

Companies (a few thousand) are built once per universe; people are generated on demand. Each
company owns a contiguous block of "slots"; person `i` sits in slot `(i * a + b) % people`, a
bijection, so the public order mixes companies while both directions stay O(1).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from random import Random
from typing import NamedTuple

from leadflood.providers.base import Prospect
from leadflood.providers.sandbox import data, names

NO_EMAIL_SHARE = 0.10
NO_PHONE_SHARE = 0.25
ABROAD_SHARE = 0.15
ACCEPT_ALL_SHARE = 0.04
_SALT_COMPANY, _SALT_LAYOUT, _SALT_CORE, _SALT_NAME, _SALT_DETAIL = range(5)

_COUNTRY_CUM = tuple(itertools.accumulate(c.weight for c in data.COUNTRIES))
_INDUSTRY_CUM = tuple(itertools.accumulate(data.INDUSTRY_WEIGHTS))
_RANGE_CUM = tuple(itertools.accumulate(r[3] for r in data.EMPLOYEE_RANGES))
_PATTERN_CUM = tuple(itertools.accumulate(p[1] for p in data.EMAIL_PATTERNS))
_DEPARTMENT_CUM = tuple(itertools.accumulate(data.DEPARTMENT_WEIGHTS))
_COUNTRY_INDEX = {c.code: n for n, c in enumerate(data.COUNTRIES)}
DEPARTMENTS: tuple[str, ...] = (*data.DEPARTMENTS, names.EXECUTIVE)


def _seniority_cum(employees: int) -> tuple[int, ...]:
    weights = list(data.SENIORITY_WEIGHTS)
    if employees > 50:
        weights[0] = 0  # owners run small businesses
    if employees > 1000:
        weights[1] = 0
    return tuple(itertools.accumulate(weights))


_SENIORITY_CUM = {size: _seniority_cum(size) for size in (50, 1000, 1001)}


def _key(seed: int, salt: int, index: int) -> int:
    return (seed * 8 + salt) * 2**40 + index


@dataclass(frozen=True, slots=True)
class SandboxCompany:
    index: int
    name: str
    legal_name: str
    domain: str
    industry: str
    employee_count: int
    employee_range: str
    country: str  # ISO 3166-1 alpha-2
    country_name: str
    city: str
    timezone: str
    technologies: tuple[str, ...]
    email_pattern: str
    accept_all: bool
    linkedin_url: str
    founded_year: int


class Core(NamedTuple):
    """What a search filters on, cheap enough to compute for the whole universe."""

    company: int
    title: int  # index into names.TITLES
    seniority: str
    department: str
    country: int  # index into data.COUNTRIES
    city: int


def _company_name(rng: Random, industry: int, country: data.Country) -> tuple[str, str, str]:
    """(display name, brand for the domain, industry noun or "")."""
    nouns = data.INDUSTRIES[industry][1]
    form = rng.random()
    if form < 0.15:
        pool = data.LAST_NAMES[country.names]
        first, second = rng.sample(pool, 2)
        if rng.random() < 0.5:
            return f"{first} & {second}", f"{first}{second}", ""
        noun = rng.choice(nouns)
        return f"{first} {noun}", first, noun
    brand = rng.choice(data.BRAND_ROOTS) + rng.choice(data.BRAND_STEMS)
    if form < 0.55:
        return brand, brand, ""
    noun = rng.choice(nouns)
    return f"{brand} {noun}", brand, noun


def _domain(rng: Random, brand: str, noun: str, country: data.Country, taken: set[str]) -> str:
    base = names.slug(brand)
    tld = "com" if country.code == "US" or rng.random() < 0.4 else country.tld
    if tld == "com" and rng.random() < 0.12:
        tld = rng.choice(("io", "ai", "co"))
    joined = base + names.slug(noun)
    candidates = [f"{base}.{tld}"] if not noun or rng.random() < 0.5 else [f"{joined}.{tld}"]
    candidates += [f"{joined}.com", f"get{base}.com", f"{base}hq.com", f"{base}.{country.tld}"]
    candidates += [f"{names.slug(brand, '-')}-{names.slug(noun, '-') or 'group'}.{country.tld}"]
    for domain in candidates:
        if domain not in taken:
            return domain
    return next(f"{base}{n}.com" for n in itertools.count(2) if f"{base}{n}.com" not in taken)


def _build_company(seed: int, j: int, taken: set[str]) -> SandboxCompany:
    rng = Random(_key(seed, _SALT_COMPANY, j))
    country = data.COUNTRIES[bisect.bisect(_COUNTRY_CUM, rng.random() * _COUNTRY_CUM[-1])]
    industry = bisect.bisect(_INDUSTRY_CUM, rng.random() * _INDUSTRY_CUM[-1])
    label, low, high, _ = data.EMPLOYEE_RANGES[
        bisect.bisect(_RANGE_CUM, rng.random() * _RANGE_CUM[-1])
    ]
    employees = min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))
    name, brand, noun = _company_name(rng, industry, country)
    domain = _domain(rng, brand, noun, country, taken)
    taken.add(domain)
    pattern = data.EMAIL_PATTERNS[bisect.bisect(_PATTERN_CUM, rng.random() * _PATTERN_CUM[-1])][0]
    if pattern == "{first}" and employees > 50:
        pattern = "{first}.{last}"
    city, tz = rng.choice(country.cities)
    tech_count = rng.randint(3, 8) if employees > 10 else rng.randint(1, 4)
    return SandboxCompany(
        index=j,
        name=name,
        legal_name=f"{name} {rng.choice(country.legal)}",
        domain=domain,
        industry=data.INDUSTRIES[industry][0],
        employee_count=max(low, employees),
        employee_range=label,
        country=country.code,
        country_name=country.name,
        city=city,
        timezone=tz,
        technologies=tuple(sorted(rng.sample(data.TECHNOLOGIES, tech_count))),
        email_pattern=pattern,
        accept_all=rng.random() < ACCEPT_ALL_SHARE,
        linkedin_url=f"https://www.linkedin.com/company/{domain.split('.')[0]}",
        founded_year=2023 - min(60, int(rng.expovariate(1 / 12))),
    )


def _allocate(companies: list[SandboxCompany], people: int) -> list[int]:
    """People per company: roughly proportional to employees**0.35, never above headcount."""
    caps = [c.employee_count for c in companies]
    weights = [c.employee_count**0.35 for c in companies]
    if people > sum(caps):
        raise ValueError(f"{people} people do not fit in {len(companies)} companies")
    raw = [people * w / sum(weights) for w in weights]
    counts = [min(cap, int(r)) for cap, r in zip(caps, raw, strict=True)]
    order = sorted(range(len(companies)), key=lambda j: (int(raw[j]) - raw[j], j))
    remaining = people - sum(counts)
    while remaining:
        for j in order:
            if remaining and counts[j] < caps[j]:
                counts[j] += 1
                remaining -= 1
    return counts


class Universe:
    def __init__(self, seed: int = 7, people: int = 40_000, companies: int = 4_000) -> None:
        if people < 1 or companies < 1:
            raise ValueError("a universe needs at least one person and one company")
        self.seed = seed
        self.size = people
        taken: set[str] = set()
        self.companies = [_build_company(seed, j, taken) for j in range(companies)]
        self._by_domain = {c.domain: c.index for c in self.companies}
        self._company_city = [
            [name for name, _ in data.COUNTRY_BY_CODE[c.country].cities].index(c.city)
            for c in self.companies
        ]
        counts = _allocate(self.companies, people)
        self._offsets = [0, *itertools.accumulate(counts)]
        layout = Random(_key(seed, _SALT_LAYOUT, 0))
        step = layout.randrange(people // 3, people) | 1
        while math.gcd(step, people) != 1:
            step += 2
        self._step, self._shift = step, layout.randrange(people)
        self._step_inverse = pow(step, -1, people)
        self._cores: list[Core | None] = [None] * people
        self._roster = functools.lru_cache(maxsize=4096)(self._compute_roster)

    def __len__(self) -> int:
        return self.size

    # ---- index arithmetic ---------------------------------------------------------------------

    def _slot(self, i: int) -> int:
        return (i * self._step + self._shift) % self.size

    def _index(self, slot: int) -> int:
        return ((slot - self._shift) * self._step_inverse) % self.size

    def company(self, j: int) -> SandboxCompany:
        return self.companies[j]

    def company_by_domain(self, domain: str) -> SandboxCompany | None:
        j = self._by_domain.get(domain.strip().lower().removeprefix("www."))
        return None if j is None else self.companies[j]

    def members(self, j: int) -> range:
        """Universe indices of company j's people are `self._index(slot)` for slots in here."""
        return range(self._offsets[j], self._offsets[j + 1])

    # ---- people -------------------------------------------------------------------------------

    def core(self, i: int) -> Core:
        cached = self._cores[i]
        if cached is None:
            cached = self._cores[i] = self._compute_core(i)
        return cached

    def _compute_core(self, i: int) -> Core:
        if not 0 <= i < self.size:
            raise IndexError(i)
        slot = self._slot(i)
        j = bisect.bisect_right(self._offsets, slot) - 1
        company = self.companies[j]
        rng = Random(_key(self.seed, _SALT_CORE, i))
        size = company.employee_count
        if slot == self._offsets[j]:
            seniority = "owner" if size <= 10 else "founder" if size <= 500 else "c_suite"
            department = names.EXECUTIVE
            title = rng.choice(names.LEADER_CHOICES[seniority])
        else:
            cum = _SENIORITY_CUM[50 if size <= 50 else 1000 if size <= 1000 else 1001]
            seniority = data.SENIORITIES[bisect.bisect(cum, rng.random() * cum[-1])]
            department = data.DEPARTMENTS[
                bisect.bisect(_DEPARTMENT_CUM, rng.random() * _DEPARTMENT_CUM[-1])
            ]
            if seniority in ("owner", "founder") and department == "engineering":
                title = rng.choice(names.ENGINEERING_FOUNDER_CHOICES)
            elif seniority in ("owner", "founder"):
                department = names.EXECUTIVE
                title = rng.choice(names.LEADER_CHOICES[seniority])
            else:
                title = rng.choice(names.TITLE_CHOICES[seniority, department])
        home = _COUNTRY_INDEX[company.country]
        if rng.random() < ABROAD_SHARE:
            country = bisect.bisect(_COUNTRY_CUM, rng.random() * _COUNTRY_CUM[-1])
        else:
            country = home
        cities = data.COUNTRIES[country].cities
        if country == home and rng.random() < 0.7:
            city = self._company_city[j]
        else:
            city = rng.randrange(len(cities))
        return Core(j, title, seniority, department, country, city)

    def _name(self, i: int) -> tuple[str, str]:
        pool = data.COUNTRIES[self.core(i).country].names
        rng = Random(_key(self.seed, _SALT_NAME, i))
        return rng.choice(data.FIRST_NAMES[pool]), rng.choice(data.LAST_NAMES[pool])

    def _compute_roster(self, j: int) -> dict[str, int]:
        """Email local part -> universe index for company j; duplicates get "2", "3", ..."""
        pattern = self.companies[j].email_pattern
        roster: dict[str, int] = {}
        for slot in self.members(j):
            i = self._index(slot)
            first, last = (names.slug(part) for part in self._name(i))
            local = pattern.format(first=first, last=last, f=first[0], l=last[0])
            unique, n = local, 1
            while unique in roster:
                n += 1
                unique = f"{local}{n}"
            roster[unique] = i
        return roster

    def _local_part(self, i: int) -> str:
        roster = self._roster(self.core(i).company)
        return next(local for local, index in roster.items() if index == i)

    def has_email(self, i: int) -> bool:
        return Random(_key(self.seed, _SALT_DETAIL, i)).random() >= NO_EMAIL_SHARE

    def person(self, i: int) -> Prospect:
        core = self.core(i)
        company = self.companies[core.company]
        country = data.COUNTRIES[core.country]
        city, timezone = country.cities[core.city]
        first, last = self._name(i)
        rng = Random(_key(self.seed, _SALT_DETAIL, i))
        has_email = rng.random() >= NO_EMAIL_SHARE
        email = f"{self._local_part(i)}@{company.domain}" if has_email else None
        has_phone = rng.random() >= NO_PHONE_SHARE
        phone = names.phone_for(country, core.city, rng) if has_phone else None
        handle = f"{names.slug(first, '-')}-{names.slug(last, '-')}-{rng.getrandbits(28):07x}"
        return Prospect(
            source_id=f"sandbox:{self.seed}:{i}",
            first_name=first,
            last_name=last,
            email=email,
            title=names.TITLES[core.title],
            seniority=core.seniority,
            department=core.department,
            phone=phone,
            linkedin_url=f"https://www.linkedin.com/in/{handle}",
            city=city,
            country=country.name,
            timezone=timezone,
            company_name=company.name,
            company_domain=company.domain,
            company_industry=company.industry,
            company_size=company.employee_count,
            company_country=company.country_name,
            technologies=company.technologies,
            raw={
                "universe_index": i,
                "company_index": company.index,
                "country_code": country.code,
                "company_country_code": company.country,
                "company_city": company.city,
                "company_timezone": company.timezone,
                "company_legal_name": company.legal_name,
                "company_linkedin_url": company.linkedin_url,
                "company_founded_year": company.founded_year,
                "employee_range": company.employee_range,
                "email_status": "verified" if has_email else "unavailable",
            },
        )

    def iter_people(self) -> Iterator[Prospect]:
        return (self.person(i) for i in range(self.size))

    # ---- reverse lookups ----------------------------------------------------------------------

    def index_of_email(self, email: str) -> int | None:
        local, _, domain = email.strip().lower().rpartition("@")
        j = self._by_domain.get(domain)
        if j is None or not local:
            return None
        i = self._roster(j).get(local)
        return i if i is not None and self.has_email(i) else None

    def find_by_email(self, email: str) -> Prospect | None:
        i = self.index_of_email(email)
        return None if i is None else self.person(i)

    def find_by_name(self, first: str, last: str, domain: str) -> Prospect | None:
        company = self.company_by_domain(domain)
        if company is None:
            return None
        wanted = (names.slug(first), names.slug(last))
        for slot in self.members(company.index):
            i = self._index(slot)
            if tuple(names.slug(part) for part in self._name(i)) == wanted:
                return self.person(i)
        return None

    def index_of_source_id(self, source_id: str) -> int | None:
        prefix = f"sandbox:{self.seed}:"
        tail = source_id.removeprefix(prefix)
        if tail == source_id or not tail.isdigit() or int(tail) >= self.size:
            return None
        return int(tail)
