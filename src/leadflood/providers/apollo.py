"""Apollo.io: people search (LeadSource), person and organization enrichment (Enricher).

Shapes follow the Apollo API reference (people search, people/match, organizations). Search is
free and returns no emails or phones; `/people/match` costs credits only when it finds someone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from leadflood.providers.base import (
    EnrichmentInput,
    EnrichmentResult,
    LeadQuery,
    PermanentProviderError,
    Prospect,
    ProviderError,
    ProviderNotConfiguredError,
    SearchPage,
    TemporaryProviderError,
)
from leadflood.providers.http import (
    RateLimiter,
    build_client,
    error_for_status,
    request,
    retry_after_seconds,
)

PROVIDER = "apollo"
DEFAULT_BASE_URL = "https://api.apollo.io/api/v1"
MAX_PER_PAGE = 100
MAX_PAGE = 500
# Apollo displays at most 100 per page x 500 pages, whatever total_entries says.
DISPLAY_CAP = MAX_PER_PAGE * MAX_PAGE
DEFAULT_RETRY_AFTER = 60.0

SENIORITIES = frozenset(
    {"owner", "founder", "c_suite", "partner", "vp", "head", "director", "manager", "senior"}
    | {"entry", "intern"}
)
_SENIORITY_ALIASES = {"c_level": "c_suite", "cxo": "c_suite", "executive": "c_suite"} | {
    "vice_president": "vp",
    "junior": "entry",
}

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|,|\u2013)\s*(\d+)\s*$")
_OPEN_RANGE = re.compile(r"^\s*(\d+)\s*(?:\+|-|,)\s*$")


@dataclass(frozen=True, slots=True)
class ApolloRateLimits:
    """The last rate-limit headers Apollo sent; None where a window is not limited."""

    minute_limit: int | None = None
    minute_usage: int | None = None
    minute_left: int | None = None
    hourly_limit: int | None = None
    hourly_usage: int | None = None
    hourly_left: int | None = None
    daily_limit: int | None = None
    daily_usage: int | None = None
    daily_left: int | None = None


def _header_int(headers: httpx.Headers, *names: str) -> int | None:
    for name in names:
        value = headers.get(name, "").strip()
        if value:
            try:
                return int(float(value))
            except ValueError:
                continue
    return None


def parse_rate_limits(headers: httpx.Headers) -> ApolloRateLimits:
    return ApolloRateLimits(
        minute_limit=_header_int(headers, "x-rate-limit-minute"),
        minute_usage=_header_int(headers, "x-minute-usage"),
        minute_left=_header_int(headers, "x-minute-requests-left"),
        hourly_limit=_header_int(headers, "x-rate-limit-hourly"),
        hourly_usage=_header_int(headers, "x-hourly-usage"),
        hourly_left=_header_int(headers, "x-hourly-requests-left"),
        daily_limit=_header_int(headers, "x-rate-limit-24-hour", "x-rate-limit-daily"),
        daily_usage=_header_int(headers, "x-24-hour-usage", "x-daily-usage"),
        daily_left=_header_int(headers, "x-24-hour-requests-left", "x-daily-requests-left"),
    )


def _invalid_query(message: str) -> PermanentProviderError:
    return PermanentProviderError(message, provider=PROVIDER, code="invalid_query")


def employee_range(value: str) -> str:
    """ "51-200" (or "51,200") -> "51,200"; "10001+" -> "10001,". Anything else is an error."""
    closed = _RANGE.match(value)
    if closed:
        low, high = int(closed.group(1)), int(closed.group(2))
        if low > high:
            raise _invalid_query(f"employee range {value!r} is reversed")
        return f"{low},{high}"
    open_ended = _OPEN_RANGE.match(value)
    if open_ended:
        return f"{int(open_ended.group(1))},"
    raise _invalid_query(f"employee range {value!r} is not like '51-200' or '10001+'")


def seniority(value: str) -> str:
    key = re.sub(r"[\s\-]+", "_", value.strip().lower())
    key = _SENIORITY_ALIASES.get(key, key)
    if key not in SENIORITIES:
        raise _invalid_query(f"seniority {value!r} is not one of {', '.join(sorted(SENIORITIES))}")
    return key


def technology_uid(value: str) -> str:
    # Apollo technology uids are lower-case with underscores ("google_analytics").
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")


def bare_domain(value: str) -> str:
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/", 1)[0]
    return domain.removeprefix("www.")


def search_body(query: LeadQuery, *, page: int, per_page: int) -> dict[str, Any]:
    if not 1 <= page <= MAX_PAGE:
        raise _invalid_query(f"page must be between 1 and {MAX_PAGE}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise _invalid_query(f"per_page must be between 1 and {MAX_PER_PAGE}")
    body: dict[str, Any] = {"page": page, "per_page": per_page}
    if query.titles:
        body["person_titles"] = list(query.titles)
        body["include_similar_titles"] = True
    if query.seniorities:
        body["person_seniorities"] = sorted({seniority(s) for s in query.seniorities})
    if query.countries:
        body["person_locations"] = list(query.countries)
    if query.employee_ranges:
        body["organization_num_employees_ranges"] = [
            employee_range(r) for r in query.employee_ranges
        ]
    if query.keywords:
        body["q_keywords"] = " ".join(query.keywords)
    if query.industries:
        body["q_organization_keyword_tags"] = list(query.industries)
    if query.departments:
        body["person_department_or_subdepartments"] = list(query.departments)
    if query.technologies:
        body["currently_using_any_of_technology_uids"] = [
            technology_uid(t) for t in query.technologies
        ]
    return body


def page_has_more(total: int | None, returned: int, *, page: int, per_page: int) -> bool:
    if page >= MAX_PAGE:
        return False
    if total is None:
        return returned >= per_page
    return page * per_page < min(total, DISPLAY_CAP)


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _phone(person: dict[str, Any]) -> str | None:
    for number in person.get("phone_numbers") or []:
        if isinstance(number, dict):
            found = _str(number.get("sanitized_number")) or _str(number.get("raw_number"))
            if found:
                return found
    return _str(person.get("sanitized_phone")) or _str(person.get("phone"))


def _organization_domain(org: dict[str, Any]) -> str | None:
    domain = _str(org.get("primary_domain"))
    if domain:
        return bare_domain(domain)
    website = _str(org.get("website_url"))
    return bare_domain(website) or None if website else None


def prospect_from_person(person: dict[str, Any]) -> Prospect:
    org = person.get("organization")
    org = org if isinstance(org, dict) else {}
    departments = person.get("departments") or []
    technologies = org.get("technology_names") or []
    return Prospect(
        source_id=str(person.get("id") or ""),
        first_name=_str(person.get("first_name")),
        # Search returns only `last_name_obfuscated` ("Hu***n"): never store that as a name.
        last_name=_str(person.get("last_name")),
        email=_str(person.get("email")),
        title=_str(person.get("title")),
        seniority=_str(person.get("seniority")),
        department=_str(departments[0]) if departments else None,
        phone=_phone(person),
        linkedin_url=_str(person.get("linkedin_url")),
        city=_str(person.get("city")),
        country=_str(person.get("country")),
        timezone=_str(person.get("time_zone")),
        company_name=_str(org.get("name")),
        company_domain=_organization_domain(org),
        company_industry=_str(org.get("industry")),
        company_size=_int(org.get("estimated_num_employees")),
        company_country=_str(org.get("country")),
        technologies=tuple(t for t in technologies if isinstance(t, str)),
        raw=person,
    )


ENRICHED_FIELDS = (
    *("first_name", "last_name", "title", "seniority", "linkedin_url", "email", "phone"),
    *("city", "country", "company_name", "company_domain", "company_industry", "company_size"),
)


def match_body(person: EnrichmentInput) -> dict[str, Any]:
    """The people/match request: Apollo's own person `id` when a search gave one (an exact
    match), with whatever else is known so that Apollo can still match on email, LinkedIn URL
    or name + domain should it no longer know that id."""
    body: dict[str, Any] = {}
    for key, value in (
        ("id", person.person_ids.get(PROVIDER)),
        ("email", person.email),
        ("first_name", person.first_name),
        ("last_name", person.last_name),
        ("organization_name", person.company_name),
        ("domain", bare_domain(person.company_domain) if person.company_domain else None),
        ("linkedin_url", person.linkedin_url),
    ):
        if value and value.strip():
            body[key] = value.strip()
    named = "first_name" in body or "last_name" in body
    if not ({"id", "email", "linkedin_url"} & body.keys() or named):
        raise PermanentProviderError(
            "Apollo needs its person id, an email, a LinkedIn URL or a name to match a person",
            provider=PROVIDER,
            code="insufficient_input",
        )
    return body


def _error_message(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    for key in ("error", "message", "detail"):
        if isinstance(payload.get(key), str):
            return f"apollo: {payload[key]}"
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], str):
        return f"apollo: {errors[0]}"
    return None


class ApolloClient:
    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_per_minute: int = 50,
    ) -> None:
        if not api_key.strip():
            raise ProviderNotConfiguredError("Apollo API key is missing", provider=PROVIDER)
        self._client = build_client(
            base_url,
            headers={"x-api-key": api_key.strip(), "accept": "application/json"},
            transport=transport,
        )
        self._limiter = RateLimiter(rate_per_minute, per=60.0)
        self.rate_limits = ApolloRateLimits()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ApolloClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def search(self, query: LeadQuery, *, page: int, per_page: int) -> SearchPage:
        body = search_body(query, page=page, per_page=per_page)
        payload = await self._call("POST", "/mixed_people/api_search", json=body)
        people = [p for p in payload.get("people") or [] if isinstance(p, dict)]
        excluded = {bare_domain(d) for d in query.exclude_domains}
        # Apollo has no exclusion filter for people search: drop those rows here.
        prospects = [
            p
            for p in map(prospect_from_person, people)
            if p.source_id and p.company_domain not in excluded
        ]
        pagination = payload.get("pagination")
        total = _int(payload.get("total_entries"))
        if total is None and isinstance(pagination, dict):
            total = _int(pagination.get("total_entries"))
        has_more = page_has_more(total, len(people), page=page, per_page=per_page)
        return SearchPage(prospects=prospects, page=page, total=total, has_more=has_more)

    async def enrich(self, person: EnrichmentInput) -> EnrichmentResult:
        payload = await self._call("POST", "/people/match", json=match_body(person))
        found = payload.get("person")
        if not isinstance(found, dict) or not found:
            return EnrichmentResult(provider=PROVIDER, found=False, raw=payload)
        prospect = prospect_from_person(found)
        fields = {
            key: value for key in ENRICHED_FIELDS if (value := getattr(prospect, key)) is not None
        }
        return EnrichmentResult(provider=PROVIDER, found=True, fields=fields, cost=1.0, raw=found)

    async def enrich_organization(self, domain: str) -> dict[str, Any]:
        clean = bare_domain(domain)
        if not clean:
            raise PermanentProviderError(
                "a domain is required", provider=PROVIDER, code="insufficient_input"
            )
        payload = await self._call("GET", "/organizations/enrich", params={"domain": clean})
        organization = payload.get("organization")
        return organization if isinstance(organization, dict) else {}

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        await self._limiter.acquire()
        response = await request(self._client, method, path, provider=PROVIDER, **kwargs)
        self.rate_limits = parse_rate_limits(response.headers)
        if response.status_code != 200:
            raise self._error(response)
        try:
            payload = response.json()
        except ValueError as exc:
            raise TemporaryProviderError(
                "apollo answered 200 with a body that is not JSON",
                provider=PROVIDER,
                code="bad_response",
            ) from exc
        if not isinstance(payload, dict):
            raise TemporaryProviderError(
                "apollo answered 200 with an unexpected body",
                provider=PROVIDER,
                code="bad_response",
            )
        return payload

    def _error(self, response: httpx.Response) -> ProviderError:
        message = _error_message(response)
        status = response.status_code
        if status in (401, 403):
            return ProviderNotConfiguredError(
                message or f"apollo refused the API key (HTTP {status})",
                provider=PROVIDER,
                code="unauthorized" if status == 401 else "forbidden",
            )
        if status == 429:
            retry_after = retry_after_seconds(response)
            if retry_after is None:
                retry_after = self._window_wait()
            return TemporaryProviderError(
                message or "apollo rate limit reached",
                provider=PROVIDER,
                code="rate_limited",
                retry_after=retry_after,
            )
        return error_for_status(response, provider=PROVIDER, message=message)

    def _window_wait(self) -> float:
        limits = self.rate_limits
        if limits.daily_left == 0:
            return 3600.0
        if limits.hourly_left == 0:
            return 600.0
        return DEFAULT_RETRY_AFTER
