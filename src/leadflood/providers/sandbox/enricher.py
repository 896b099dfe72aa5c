"""Enrichment from the sandbox universe, with no network and no cost.

A person of the universe (matched by email, or by first name + last name + company domain) gets
their universe record. Anyone else gets realistic synthetic fields derived from a hash of the
input, identical on every call: title, seniority, department, company name (from the domain),
industry, size, city, country, time zone, phone and LinkedIn URL. The sandbox never invents an
email address: a guessed address at a real domain could reach a real person.

Deliberate failures, keyed on the domain of the email (or of `company_domain` when there is no
email), for tests and demos:

- `fail.example`  -> PermanentProviderError, code "no_match", "sandbox: no person found for …"
- `flaky.example` -> TemporaryProviderError, code "sandbox_flaky" (every time: retries exhaust)
- `slow.example`  -> answers normally after sleeping `slow_seconds` (default SLOW_SECONDS)

An input with nothing to go on (no email, name, domain, company or LinkedIn URL) is not found.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import re
from random import Random
from typing import Any

from leadflood.providers.base import (
    EnrichmentInput,
    EnrichmentResult,
    PermanentProviderError,
    Prospect,
    TemporaryProviderError,
)
from leadflood.providers.sandbox import data, names
from leadflood.providers.sandbox.source import default_universe, normalize_domain
from leadflood.providers.sandbox.universe import Universe

PROVIDER = "sandbox"
SLOW_SECONDS = 3.0
FAIL_DOMAIN = "fail.example"
FLAKY_DOMAIN = "flaky.example"
SLOW_DOMAIN = "slow.example"

PERSON_FIELDS = (
    "first_name", "last_name", "email", "title", "seniority", "department", "phone",
    "linkedin_url", "city", "country", "timezone", "company_name", "company_domain",
    "company_industry", "company_size", "company_country",
)  # fmt: skip

_NAME_LOCAL = re.compile(r"^([a-z]{2,})[._-]([a-z]{2,})$")
_SYNTHETIC_SENIORITIES = ("c_suite", "vp", "head", "director", "manager", "senior", "entry")
_SENIORITY_CUM = tuple(itertools.accumulate(data.SENIORITY_WEIGHTS[2:]))
_COUNTRY_CUM = tuple(itertools.accumulate(c.weight for c in data.COUNTRIES))
_INDUSTRY_CUM = tuple(itertools.accumulate(data.INDUSTRY_WEIGHTS))
_RANGE_CUM = tuple(itertools.accumulate(r[3] for r in data.EMPLOYEE_RANGES))


def input_domain(person: EnrichmentInput) -> str | None:
    if person.email and "@" in person.email:
        return normalize_domain(person.email)
    if person.company_domain:
        return normalize_domain(person.company_domain)
    return None


def prospect_fields(prospect: Prospect) -> dict[str, Any]:
    values = {name: getattr(prospect, name) for name in PERSON_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def _country_of(domain: str | None, rng: Random) -> data.Country:
    for country in data.COUNTRIES:
        if domain and country.code != "US" and domain.endswith("." + country.tld):
            return country
    return data.COUNTRIES[bisect.bisect(_COUNTRY_CUM, rng.random() * _COUNTRY_CUM[-1])]


def _company_from_domain(domain: str) -> str:
    label = domain.split(".")[0]
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", label) if part)


def synthetic_fields(person: EnrichmentInput) -> dict[str, Any]:
    """Plausible fields for someone outside the universe, the same for the same input."""
    domain = input_domain(person)
    company_domain = None if domain in data.FREEMAIL_DOMAINS else domain
    identity = (person.email or "").strip().lower() or "|".join(
        (person.first_name or "", person.last_name or "", domain or "", person.company_name or "")
    ).lower()
    rng = Random(names.stable_int("sandbox-enrich", identity, person.linkedin_url or ""))
    fields: dict[str, Any] = {}
    first, last = person.first_name, person.last_name
    local = (person.email or "").partition("@")[0].lower()
    if not (first or last) and (match := _NAME_LOCAL.match(local)):
        first, last = match.group(1).capitalize(), match.group(2).capitalize()
        fields.update(first_name=first, last_name=last)

    seniority = _SYNTHETIC_SENIORITIES[
        bisect.bisect(_SENIORITY_CUM, rng.random() * _SENIORITY_CUM[-1])
    ]
    department = rng.choice(data.DEPARTMENTS)
    title = names.TITLES[rng.choice(names.TITLE_CHOICES[seniority, department])]
    fields.update(title=title, seniority=seniority, department=department)

    country = _country_of(company_domain, rng)
    city_index = rng.randrange(len(country.cities))
    city, timezone = country.cities[city_index]
    fields.update(city=city, country=country.name, timezone=timezone)
    fields["phone"] = names.phone_for(country, city_index, rng)

    company_name = _company_from_domain(company_domain) if company_domain else None
    company_name = company_name or person.company_name
    if company_name:
        industry = bisect.bisect(_INDUSTRY_CUM, rng.random() * _INDUSTRY_CUM[-1])
        _, low, high, _ = data.EMPLOYEE_RANGES[
            bisect.bisect(_RANGE_CUM, rng.random() * _RANGE_CUM[-1])
        ]
        fields.update(
            company_name=company_name,
            company_industry=data.INDUSTRIES[industry][0],
            company_size=rng.randint(low, min(high, 20_000)),
            company_country=country.name,
        )
    if company_domain:
        fields["company_domain"] = company_domain

    if person.linkedin_url:
        fields["linkedin_url"] = person.linkedin_url
    else:
        handle = "-".join(names.slug(p) for p in (first, last) if p and names.slug(p))
        handle = handle or names.slug(local) or names.slug(company_name or "") or "member"
        fields["linkedin_url"] = f"https://www.linkedin.com/in/{handle}-{rng.getrandbits(28):07x}"
    return fields


class SandboxEnricher:
    name = PROVIDER

    def __init__(
        self, universe: Universe | None = None, *, slow_seconds: float = SLOW_SECONDS
    ) -> None:
        self.universe = universe or default_universe()
        self.slow_seconds = slow_seconds

    def _match(self, person: EnrichmentInput) -> Prospect | None:
        if person.email:
            found = self.universe.find_by_email(person.email)
            if found is not None:
                return found
        domain = input_domain(person)
        if person.first_name and person.last_name and domain:
            return self.universe.find_by_name(person.first_name, person.last_name, domain)
        return None

    async def enrich(self, person: EnrichmentInput) -> EnrichmentResult:
        domain = input_domain(person)
        who = person.email or domain
        if domain == FAIL_DOMAIN:
            raise PermanentProviderError(
                f"sandbox: no person found for {who}", provider=PROVIDER, code="no_match"
            )
        if domain == FLAKY_DOMAIN:
            raise TemporaryProviderError(
                f"sandbox: simulated outage while enriching {who}",
                provider=PROVIDER,
                code="sandbox_flaky",
                retry_after=1.0,
            )
        if domain == SLOW_DOMAIN:
            await asyncio.sleep(self.slow_seconds)

        prospect = self._match(person)
        if prospect is not None:
            return EnrichmentResult(
                provider=PROVIDER,
                found=True,
                fields=prospect_fields(prospect),
                raw={"match": "universe", "source_id": prospect.source_id, **prospect.raw},
            )
        has_input = any(
            (person.email, person.first_name, person.last_name, person.company_name, domain)
        ) or bool(person.linkedin_url)
        if not has_input:
            return EnrichmentResult(provider=PROVIDER, found=False, raw={"match": "none"})
        return EnrichmentResult(
            provider=PROVIDER,
            found=True,
            fields=synthetic_fields(person),
            raw={"match": "synthetic"},
        )
