"""Enrichment from the sandbox universe, with no network and no cost.

A person of the universe (matched by email, or by first name + last name + company domain) gets
their universe record. Anyone else is not found: the universe is closed, and a made-up title,
phone or profile for a real person would be false data in a real workspace.

Deliberate failures, keyed on the domain of the email (or of `company_domain` when there is no
email), for tests and demos:

- `fail.example`  -> PermanentProviderError, code "no_match", "sandbox: no person found for …"
- `flaky.example` -> TemporaryProviderError, code "sandbox_flaky" (every time: retries exhaust)
- `slow.example`  -> answers (not found) after sleeping `slow_seconds` (default SLOW_SECONDS)
"""

from __future__ import annotations

import asyncio
from typing import Any

from leadflood.providers.base import (
    EnrichmentInput,
    EnrichmentResult,
    PermanentProviderError,
    Prospect,
    TemporaryProviderError,
)
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


def input_domain(person: EnrichmentInput) -> str | None:
    if person.email and "@" in person.email:
        return normalize_domain(person.email)
    if person.company_domain:
        return normalize_domain(person.company_domain)
    return None


def prospect_fields(prospect: Prospect) -> dict[str, Any]:
    values = {name: getattr(prospect, name) for name in PERSON_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


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
        return EnrichmentResult(provider=PROVIDER, found=False, raw={"match": "none"})
