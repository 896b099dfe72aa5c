from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.apollo import (
    DISPLAY_CAP,
    MAX_PAGE,
    ApolloClient,
    ApolloRateLimits,
    employee_range,
    page_has_more,
    parse_rate_limits,
    seniority,
)
from leadflood.providers.base import (
    EnrichmentInput,
    LeadQuery,
    PermanentProviderError,
    ProviderNotConfiguredError,
    TemporaryProviderError,
)

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "apollo-test-key"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, seen: list[httpx.Request] | None = None) -> ApolloClient:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return ApolloClient(KEY, transport=httpx.MockTransport(record), rate_per_minute=6000)


def answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json=payload, headers=headers)


async def test_search_sends_the_documented_request() -> None:
    seen: list[httpx.Request] = []
    query = LeadQuery(
        titles=("Head of Growth", "VP Marketing"),
        seniorities=("VP", "c-suite", "director", "vp"),
        employee_ranges=("51-200", "1001+"),
        countries=("United States", "Germany"),
        keywords=("saas", "b2b"),
        industries=("software",),
        departments=("marketing",),
        technologies=("Google Analytics", "HubSpot"),
    )
    async with client_for(answer(fixture("apollo_search.json")), seen) as apollo:
        await apollo.search(query, page=2, per_page=25)

    (request,) = seen
    assert request.method == "POST"
    assert request.url == "https://api.apollo.io/api/v1/mixed_people/api_search"
    assert request.headers["x-api-key"] == KEY
    assert "api_key" not in str(request.url)
    assert json.loads(request.content) == {
        "page": 2,
        "per_page": 25,
        "person_titles": ["Head of Growth", "VP Marketing"],
        "include_similar_titles": True,
        "person_seniorities": ["c_suite", "director", "vp"],
        "person_locations": ["United States", "Germany"],
        "organization_num_employees_ranges": ["51,200", "1001,"],
        "q_keywords": "saas b2b",
        "q_organization_keyword_tags": ["software"],
        "person_department_or_subdepartments": ["marketing"],
        "currently_using_any_of_technology_uids": ["google_analytics", "hubspot"],
    }


async def test_search_sends_only_paging_for_an_empty_query() -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer({"people": [], "total_entries": 0}), seen) as apollo:
        page = await apollo.search(LeadQuery(), page=1, per_page=100)
    assert json.loads(seen[0].content) == {"page": 1, "per_page": 100}
    assert page.prospects == []
    assert page.total == 0
    assert not page.has_more


async def test_search_maps_obfuscated_people_and_keeps_raw() -> None:
    payload = fixture("apollo_search.json")
    async with client_for(answer(payload)) as apollo:
        page = await apollo.search(LeadQuery(titles=("Head of Growth",)), page=1, per_page=2)

    assert page.total == 232
    assert page.has_more
    assert page.page == 1
    first, second = page.prospects
    assert first.source_id == "67bdafd0c3a4c50001bbd7c2"
    assert first.first_name == "Andrew"
    assert first.last_name is None  # never the obfuscated "Hu***n"
    assert first.email is None
    assert first.title == "Head of Growth"
    assert first.company_name == "Scicomm Media"
    assert first.raw == payload["people"][0]
    assert second.company_name == "Northwind Logistics"


async def test_search_reads_pagination_block_maps_full_people_and_excludes_domains() -> None:
    async with client_for(answer(fixture("apollo_search_paginated.json"))) as apollo:
        page = await apollo.search(
            LeadQuery(exclude_domains=("https://www.Excluded.example",)), page=3, per_page=2
        )

    assert page.total == 6
    assert not page.has_more
    (tim,) = page.prospects
    assert tim.source_id == "60a1b2c3d4e5f60001a1b2c3"
    assert (tim.first_name, tim.last_name) == ("Tim", "Zheng")
    assert tim.seniority == "founder"
    assert tim.department == "c_suite"
    assert tim.linkedin_url == "http://www.linkedin.com/in/tim-zheng-677ba010"
    assert (tim.city, tim.country, tim.timezone) == (
        "San Francisco",
        "United States",
        "America/Los_Angeles",
    )
    assert tim.company_domain == "apollo.io"
    assert tim.company_industry == "information technology & services"
    assert tim.company_size == 1600
    assert tim.company_country == "United States"
    assert tim.technologies == ("Salesforce", "Google Analytics")


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (MAX_PAGE + 1, 10), (1, 0), (1, 101)])
async def test_search_refuses_paging_outside_apollo_limits(page: int, per_page: int) -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer({}), seen) as apollo:
        with pytest.raises(PermanentProviderError) as caught:
            await apollo.search(LeadQuery(), page=page, per_page=per_page)
    assert caught.value.code == "invalid_query"
    assert seen == []


@settings(deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**9),
    page=st.integers(min_value=1, max_value=MAX_PAGE),
    per_page=st.integers(min_value=1, max_value=100),
)
def test_has_more_iff_a_later_page_can_hold_a_reachable_record(
    total: int, page: int, per_page: int
) -> None:
    reachable = min(total, DISPLAY_CAP)
    expected = page < MAX_PAGE and page * per_page < reachable
    assert page_has_more(total, per_page, page=page, per_page=per_page) is expected


@settings(deadline=None)
@given(
    returned=st.integers(min_value=0, max_value=100),
    per_page=st.integers(min_value=1, max_value=100),
)
def test_has_more_without_total_follows_a_full_page(returned: int, per_page: int) -> None:
    assert page_has_more(None, returned, page=1, per_page=per_page) is (returned >= per_page)
    assert not page_has_more(None, returned, page=MAX_PAGE, per_page=per_page)


@settings(deadline=None)
@given(low=st.integers(min_value=1, max_value=10**6), width=st.integers(0, 10**6))
def test_employee_ranges_become_apollo_comma_pairs(low: int, width: int) -> None:
    high = low + width
    assert employee_range(f"{low}-{high}") == f"{low},{high}"
    assert employee_range(f" {low} , {high} ") == f"{low},{high}"
    assert employee_range(f"{low}+") == f"{low},"


@pytest.mark.parametrize("bad", ["", "many", "200-51", "1-2-3", "-5"])
def test_malformed_employee_ranges_are_refused(bad: str) -> None:
    with pytest.raises(PermanentProviderError):
        employee_range(bad)


def test_seniorities_are_normalised_or_refused() -> None:
    assert seniority("C-Suite") == "c_suite"
    assert seniority("Vice President") == "vp"
    assert seniority(" Director ") == "director"
    with pytest.raises(PermanentProviderError):
        seniority("overlord")


async def test_enrich_sends_match_request_and_maps_lead_columns() -> None:
    seen: list[httpx.Request] = []
    payload = fixture("apollo_people_match.json")
    person = EnrichmentInput(
        first_name="Tim",
        last_name="Zheng",
        company_name="Apollo",
        company_domain="https://www.apollo.io/",
        email=" ",
    )
    async with client_for(answer(payload), seen) as apollo:
        result = await apollo.enrich(person)

    (request,) = seen
    assert request.method == "POST"
    assert request.url == "https://api.apollo.io/api/v1/people/match"
    assert request.headers["x-api-key"] == KEY
    assert json.loads(request.content) == {
        "first_name": "Tim",
        "last_name": "Zheng",
        "organization_name": "Apollo",
        "domain": "apollo.io",
    }
    assert result.provider == "apollo"
    assert result.found
    assert result.cost == 1.0
    assert result.raw == payload["person"]
    assert result.fields == {
        "first_name": "Tim",
        "last_name": "Zheng",
        "title": "Founder & CEO",
        "seniority": "founder",
        "linkedin_url": "http://www.linkedin.com/in/tim-zheng-677ba010",
        "email": "tim@apollo.io",
        "phone": "+14155550100",
        "city": "San Francisco",
        "country": "United States",
        "company_name": "Apollo.io",
        "company_domain": "apollo.io",
        "company_industry": "information technology & services",
        "company_size": 1600,
    }


@pytest.mark.parametrize(
    "payload", [{"person": None}, {}, fixture("apollo_people_match_none.json")]
)
async def test_enrich_without_a_match_is_not_found_and_free(payload: dict[str, Any]) -> None:
    async with client_for(answer(payload)) as apollo:
        result = await apollo.enrich(EnrichmentInput(email="nobody@example.com"))
    assert not result.found
    assert result.cost == 0.0
    assert result.fields == {}


async def test_enrich_refuses_input_that_identifies_nobody() -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer({}), seen) as apollo:
        with pytest.raises(PermanentProviderError) as caught:
            await apollo.enrich(EnrichmentInput(company_domain="apollo.io"))
    assert caught.value.code == "insufficient_input"
    assert seen == []


async def test_enrich_matches_on_apollos_own_person_id_first() -> None:
    seen: list[httpx.Request] = []
    andrew = "67bdafd0c3a4c50001bbd7c2"
    person = EnrichmentInput(
        first_name="Andrew",
        company_name="Scicomm Media",
        person_ids={"apollo": andrew, "sandbox": "sandbox:7:12"},
    )
    async with client_for(answer(fixture("apollo_people_match_by_id.json")), seen) as apollo:
        result = await apollo.enrich(person)
    (request,) = seen
    # The id, and what else is known in case Apollo no longer knows that id.
    assert json.loads(request.content) == {
        "id": andrew,
        "first_name": "Andrew",
        "organization_name": "Scicomm Media",
    }
    assert result.found
    assert (result.fields["email"], result.fields["last_name"]) == (
        "andrew@scicomm.media",
        "Huston",
    )


async def test_an_apollo_person_id_alone_identifies_the_person() -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer(fixture("apollo_people_match_by_id.json")), seen) as apollo:
        await apollo.enrich(EnrichmentInput(person_ids={"apollo": " 67bdafd0c3a4c50001bbd7c2 "}))
    assert [json.loads(r.content) for r in seen] == [{"id": "67bdafd0c3a4c50001bbd7c2"}]


async def test_another_providers_person_id_is_not_sent_to_apollo() -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer({}), seen) as apollo:
        with pytest.raises(PermanentProviderError) as caught:
            await apollo.enrich(EnrichmentInput(person_ids={"sandbox": "sandbox:7:12"}))
    assert caught.value.code == "insufficient_input"
    assert seen == []


async def test_enrich_organization_gets_by_bare_domain() -> None:
    seen: list[httpx.Request] = []
    payload = fixture("apollo_organization.json")
    async with client_for(answer(payload), seen) as apollo:
        organization = await apollo.enrich_organization("https://WWW.Apollo.io/pricing")
        missing = await apollo.enrich_organization("unknown.example")

    assert seen[0].method == "GET"
    assert seen[0].url.path == "/api/v1/organizations/enrich"
    assert dict(seen[0].url.params) == {"domain": "apollo.io"}
    assert seen[0].headers["x-api-key"] == KEY
    assert organization == payload["organization"]
    assert missing == payload["organization"]  # same canned answer, proves a second call


async def test_enrich_organization_without_organization_is_empty() -> None:
    async with client_for(answer({"organization": None})) as apollo:
        assert await apollo.enrich_organization("nothing.example") == {}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "30"}, 30.0),
        ({}, 60.0),
        ({"x-24-hour-requests-left": "0"}, 3600.0),
        ({"x-daily-requests-left": "0"}, 3600.0),
        ({"x-hourly-requests-left": "0", "x-minute-requests-left": "0"}, 600.0),
    ],
)
async def test_429_is_temporary_with_retry_after(headers: dict[str, str], expected: float) -> None:
    async with client_for(answer({"error": "slow down"}, 429, headers)) as apollo:
        with pytest.raises(TemporaryProviderError) as caught:
            await apollo.search(LeadQuery(), page=1, per_page=10)
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == expected
    assert caught.value.provider == "apollo"


async def test_429_retry_after_as_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    async with client_for(answer({}, 429, {"retry-after": when})) as apollo:
        with pytest.raises(TemporaryProviderError) as caught:
            await apollo.enrich(EnrichmentInput(email="a@b.example"))
    assert caught.value.retry_after is not None
    assert 100 < caught.value.retry_after <= 120


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, {"error": "Invalid access credentials."}, ProviderNotConfiguredError, "unauthorized"),
        (
            403,
            {"error": "api/v1/people/match is not accessible"},
            ProviderNotConfiguredError,
            "forbidden",
        ),
        (422, {"error": "Value too long"}, PermanentProviderError, "422"),
        (400, {"message": "bad request"}, PermanentProviderError, "400"),
        (500, {"error": "boom"}, TemporaryProviderError, "500"),
        (503, {}, TemporaryProviderError, "503"),
    ],
)
async def test_http_errors_are_mapped(
    status: int, body: dict[str, Any], error: type[Exception], code: str
) -> None:
    async with client_for(answer(body, status)) as apollo:
        with pytest.raises(error) as caught:
            await apollo.enrich(EnrichmentInput(email="a@b.example"))
    assert getattr(caught.value, "code", None) == code
    if status in (500, 503):
        assert getattr(caught.value, "temporary", False)
    else:
        assert not getattr(caught.value, "temporary", True)
    if body:
        assert next(iter(body.values())) in str(caught.value)


async def test_network_failure_is_temporary() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client_for(refuse) as apollo:
        with pytest.raises(TemporaryProviderError) as caught:
            await apollo.search(LeadQuery(), page=1, per_page=10)
    assert caught.value.code == "network"


async def test_non_json_success_is_temporary() -> None:
    async with client_for(lambda request: httpx.Response(200, text="<html>")) as apollo:
        with pytest.raises(TemporaryProviderError):
            await apollo.search(LeadQuery(), page=1, per_page=10)


async def test_last_rate_limit_headers_are_exposed() -> None:
    headers = {
        "x-rate-limit-minute": "200",
        "x-minute-usage": "3",
        "x-minute-requests-left": "197",
        "x-rate-limit-hourly": "",
        "x-rate-limit-24-hour": "2000",
        "x-24-hour-usage": "10",
        "x-24-hour-requests-left": "1990",
    }
    async with client_for(answer({"people": []}, headers=headers)) as apollo:
        assert apollo.rate_limits == ApolloRateLimits()
        await apollo.search(LeadQuery(), page=1, per_page=10)
        assert apollo.rate_limits == ApolloRateLimits(
            minute_limit=200,
            minute_usage=3,
            minute_left=197,
            daily_limit=2000,
            daily_usage=10,
            daily_left=1990,
        )


def test_daily_headers_accept_both_spellings() -> None:
    limits = parse_rate_limits(
        httpx.Headers(
            {"x-rate-limit-daily": "600", "x-daily-usage": "600", "x-daily-requests-left": "0"}
        )
    )
    assert (limits.daily_limit, limits.daily_usage, limits.daily_left) == (600, 600, 0)
    assert limits.minute_limit is None


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ProviderNotConfiguredError):
        ApolloClient("  ")
