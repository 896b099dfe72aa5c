from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.base import (
    EnrichmentInput,
    PermanentProviderError,
    TemporaryProviderError,
)
from leadflood.providers.sandbox import SLOW_SECONDS, SandboxEnricher, default_universe

UNIVERSE = default_universe()
ENRICHER = SandboxEnricher()
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
emails = st.builds(
    lambda local, name, tld: f"{local}@{name}.{tld}",
    labels,
    labels,
    st.sampled_from(["com", "de", "co.uk", "io", "fr"]),
)


def _person_with_email(start: int) -> int:
    return next(i for i in range(start, len(UNIVERSE)) if UNIVERSE.person(i).email)


async def test_universe_person_by_email_returns_their_record() -> None:
    person = UNIVERSE.person(_person_with_email(100))
    assert person.email is not None
    result = await ENRICHER.enrich(EnrichmentInput(email=person.email.upper()))
    assert result.found and result.cost == 0 and result.provider == "sandbox"
    assert result.raw["match"] == "universe"
    assert result.fields["email"] == person.email
    assert result.fields["title"] == person.title
    assert result.fields["company_domain"] == person.company_domain
    assert result.fields["timezone"] == person.timezone


async def test_universe_person_by_name_and_domain() -> None:
    person = UNIVERSE.person(1234)
    assert person.first_name and person.last_name and person.company_domain
    result = await ENRICHER.enrich(
        EnrichmentInput(
            first_name=person.first_name.upper(),
            last_name=person.last_name,
            company_domain=f"www.{person.company_domain}",
        )
    )
    assert result.raw["match"] == "universe"
    assert result.raw["source_id"] == person.source_id
    assert result.fields.get("phone") == person.phone


@settings(max_examples=100, deadline=None)
@given(email=emails)
async def test_anyone_outside_the_universe_is_not_found(email: str) -> None:
    result = await ENRICHER.enrich(EnrichmentInput(email=email))
    if UNIVERSE.find_by_email(email) is not None:
        assert result.raw["match"] == "universe"
        return
    assert not result.found and result.fields == {} and result.raw["match"] == "none"


async def test_a_real_looking_person_gets_no_invented_fields() -> None:
    result = await ENRICHER.enrich(
        EnrichmentInput(
            email="jane.doe@acme-robotics.de",
            first_name="Jane",
            last_name="Doe",
            company_name="Acme Robotics",
            company_domain="acme-robotics.de",
        )
    )
    assert not result.found and result.fields == {}
    by_name = await ENRICHER.enrich(
        EnrichmentInput(
            first_name="Jane", last_name="Doe", linkedin_url="https://www.linkedin.com/in/jd"
        )
    )
    assert not by_name.found and by_name.fields == {}


async def test_nothing_to_go_on_is_not_found() -> None:
    result = await ENRICHER.enrich(EnrichmentInput())
    assert not result.found and result.fields == {}


async def test_fail_domain_is_a_permanent_no_match() -> None:
    with pytest.raises(PermanentProviderError) as caught:
        await ENRICHER.enrich(EnrichmentInput(email="ann@fail.example"))
    assert caught.value.code == "no_match"
    assert str(caught.value).startswith("sandbox: no person found for ann@fail.example")
    assert not caught.value.temporary


async def test_flaky_domain_is_a_temporary_error() -> None:
    for _ in range(3):
        with pytest.raises(TemporaryProviderError) as caught:
            await ENRICHER.enrich(EnrichmentInput(email="bob@flaky.example"))
        assert caught.value.code == "sandbox_flaky" and caught.value.temporary


async def test_slow_domain_waits_then_answers() -> None:
    assert SLOW_SECONDS == 3.0
    assert SandboxEnricher().slow_seconds == SLOW_SECONDS
    slow = SandboxEnricher(slow_seconds=30)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(slow.enrich(EnrichmentInput(email="cy@slow.example")), 0.05)
    quick = SandboxEnricher(slow_seconds=0)
    result = await quick.enrich(EnrichmentInput(email="cy@slow.example"))
    assert not result.found and result.raw["match"] == "none"


async def test_company_domain_triggers_failures_when_there_is_no_email() -> None:
    with pytest.raises(PermanentProviderError):
        await ENRICHER.enrich(EnrichmentInput(first_name="A", company_domain="fail.example"))


def test_country_names_are_full_names() -> None:
    assert UNIVERSE.person(0).country in {c.country_name for c in UNIVERSE.companies}
