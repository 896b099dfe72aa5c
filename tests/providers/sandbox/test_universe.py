from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.base import Prospect
from leadflood.providers.sandbox import Universe, default_universe
from leadflood.providers.sandbox.names import TITLES, slug

UNIVERSE = default_universe()
SENIORITIES = {
    "owner",
    "founder",
    "c_suite",
    "vp",
    "head",
    "director",
    "manager",
    "senior",
    "entry",
}
RANGES = {
    "1-10": (1, 10),
    "11-50": (11, 50),
    "51-200": (51, 200),
    "201-500": (201, 500),
    "501-1000": (501, 1000),
    "1001-5000": (1001, 5000),
    "5001+": (5001, 10**9),
}
indices = st.integers(min_value=0, max_value=len(UNIVERSE) - 1)


def test_default_size() -> None:
    assert len(UNIVERSE) == 40_000
    assert len(UNIVERSE.companies) == 4_000


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = Universe(seed=3, people=2_000, companies=200)
    again = Universe(seed=3, people=2_000, companies=200)
    other = Universe(seed=4, people=2_000, companies=200)
    sample = range(0, 2_000, 37)
    assert first.companies == again.companies
    assert [first.person(i) for i in sample] == [again.person(i) for i in sample]
    assert [first.person(i).email for i in sample] != [other.person(i).email for i in sample]
    assert [c.domain for c in first.companies] != [c.domain for c in other.companies]


@settings(max_examples=300, deadline=None)
@given(i=indices)
def test_phone_is_valid_e164_of_the_persons_country(i: int) -> None:
    person = UNIVERSE.person(i)
    if person.phone is None:
        return
    number = phonenumbers.parse(person.phone)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == person.phone
    assert phonenumbers.region_code_for_number(number) == person.raw["country_code"]


@settings(max_examples=300, deadline=None)
@given(i=indices)
def test_time_zone_matches_country(i: int, zones_by_country: dict[str, set[str]]) -> None:
    person = UNIVERSE.person(i)
    assert person.timezone is not None
    ZoneInfo(person.timezone)
    assert person.timezone in zones_by_country[person.raw["country_code"]]
    company = UNIVERSE.company(person.raw["company_index"])
    assert company.timezone in zones_by_country[company.country]


@settings(max_examples=300, deadline=None)
@given(i=indices)
def test_person_is_consistent_with_company(i: int) -> None:
    person = UNIVERSE.person(i)
    company = UNIVERSE.company(person.raw["company_index"])
    assert person.company_domain == company.domain
    assert person.company_name == company.name
    assert person.company_size == company.employee_count
    low, high = RANGES[company.employee_range]
    assert low <= company.employee_count <= high
    if person.email is not None:
        local, _, domain = person.email.partition("@")
        assert domain == company.domain
        assert local.isascii() and local == local.lower() and local
    assert person.seniority in SENIORITIES
    assert person.title in TITLES
    assert person.linkedin_url is not None
    assert person.linkedin_url.startswith("https://www.linkedin.com/in/")


@settings(max_examples=300, deadline=None)
@given(i=indices)
def test_find_by_email_returns_the_same_person(i: int) -> None:
    person = UNIVERSE.person(i)
    if person.email is None:
        return
    assert UNIVERSE.find_by_email(person.email) == person
    assert UNIVERSE.find_by_email(f"  {person.email.upper()} ") == person
    assert UNIVERSE.index_of_source_id(person.source_id) == i


def test_find_by_email_misses() -> None:
    domain = UNIVERSE.company(0).domain
    assert UNIVERSE.find_by_email(f"nobody.here.at.all@{domain}") is None
    assert UNIVERSE.find_by_email("someone@not-in-the-universe.test") is None
    assert UNIVERSE.find_by_email("not an email") is None


def test_emails_are_unique_even_in_crowded_companies() -> None:
    crowded = Universe(seed=5, people=4_000, companies=60)
    emails = [p.email for p in crowded.iter_people() if p.email is not None]
    assert len(emails) == len(set(emails))
    assert any(e.split("@")[0][-1].isdigit() for e in emails), "collisions must occur here"


def test_about_one_in_ten_has_no_email(small_people: list[Prospect]) -> None:
    missing = sum(p.email is None for p in small_people)
    assert 0.07 < missing / len(small_people) < 0.13


def test_people_cover_companies_and_vary(small_people: list[Prospect]) -> None:
    assert len({p.company_domain for p in small_people}) > 250
    assert len({p.raw["country_code"] for p in small_people}) > 15
    assert Counter(p.seniority for p in small_people).keys() == SENIORITIES
    assert len({p.title for p in small_people}) > 150


def test_company_domains_are_unique_and_derived_from_names() -> None:
    domains = [c.domain for c in UNIVERSE.companies]
    assert len(domains) == len(set(domains))
    for company in UNIVERSE.companies:
        assert slug(company.name.split()[0]) in company.domain


def test_realistic_titles_exist() -> None:
    for title in ("VP Sales", "Head of Growth", "Senior Backend Engineer", "Founder & CEO", "CTO"):
        assert title in TITLES


def test_index_bounds() -> None:
    with pytest.raises(IndexError):
        UNIVERSE.person(len(UNIVERSE))
    with pytest.raises(ValueError):
        Universe(people=1_000, companies=0)


def test_too_many_people_for_the_companies_is_refused() -> None:
    with pytest.raises(ValueError):
        Universe(seed=1, people=10**7, companies=3)
