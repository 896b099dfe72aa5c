"""Hunter.io v2: email finder (Enricher) and email verifier (EmailVerifier).

Shapes follow the Hunter API v2 reference. Hunter's status codes are unusual: 202 and
222 are "try again", 403 is the rate limit and 429 means the plan's quota is used up.
"""

from __future__ import annotations

from typing import Any

import httpx

from leadflood.providers.base import (
    EnrichmentInput,
    EnrichmentResult,
    PermanentProviderError,
    ProviderError,
    ProviderNotConfiguredError,
    RecipientRejected,
    TemporaryProviderError,
    VerificationResult,
)
from leadflood.providers.http import (
    RateLimiter,
    build_client,
    error_for_status,
    request,
    retry_after_seconds,
)

PROVIDER = "hunter"
DEFAULT_BASE_URL = "https://api.hunter.io/v2"

IN_PROGRESS_RETRY_AFTER = 10.0  # 202: Hunter is still verifying; the repeat call is free
SMTP_ODDITY_RETRY_AFTER = 300.0  # 222: the mail server misbehaved; give it a few minutes
RATE_LIMIT_RETRY_AFTER = 60.0  # 403: per-second and per-minute windows
QUOTA_RETRY_AFTER = 86_400.0  # 429: plan usage exhausted until the monthly reset

STATUS_MAP = {
    "valid": "valid",
    "invalid": "invalid",
    "accept_all": "risky",
    "webmail": "risky",
    "disposable": "invalid",
    "unknown": "unknown",
}
# `result` is deprecated but still sent; used only when `status` is absent.
RESULT_MAP = {"deliverable": "valid", "undeliverable": "invalid", "risky": "risky"}


def verification_status(data: dict[str, Any]) -> str:
    status = data.get("status")
    if isinstance(status, str) and status:
        return STATUS_MAP.get(status, "unknown")
    result = data.get("result")
    return RESULT_MAP.get(result, "unknown") if isinstance(result, str) else "unknown"


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


def finder_params(person: EnrichmentInput) -> dict[str, str]:
    first, last = _clean(person.first_name), _clean(person.last_name)
    domain = _clean(person.company_domain)
    company = _clean(person.company_name)
    if not (first and last) or not (domain or company):
        raise PermanentProviderError(
            "Hunter's email finder needs a first name, a last name and a company domain or name",
            provider=PROVIDER,
            code="insufficient_input",
        )
    params = {"first_name": first, "last_name": last}
    if domain:
        params["domain"] = domain.lower().removeprefix("www.")
    else:
        params["company"] = company or ""
    return params


def _found_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for ours, theirs in (
        ("email", "email"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("title", "position"),
        ("linkedin_url", "linkedin_url"),
        ("phone", "phone_number"),
        ("company_name", "company"),
        ("company_domain", "domain"),
    ):
        value = data.get(theirs)
        if isinstance(value, str) and value.strip():
            fields[ours] = value.strip()
    return fields


def error_details(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        details = errors[0].get("details")
        if isinstance(details, str) and details:
            return details
    return None


def _error_id(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        error_id = errors[0].get("id")
        return error_id if isinstance(error_id, str) else None
    return None


def map_error(response: httpx.Response, *, verifying: bool) -> ProviderError:
    status = response.status_code
    details = error_details(response)
    text = f"hunter: {details}" if details else f"hunter answered HTTP {status}"
    retry_after = retry_after_seconds(response)
    if status == 202:
        return TemporaryProviderError(
            text if details else "hunter: verification still in progress",
            provider=PROVIDER,
            code="in_progress",
            retry_after=retry_after if retry_after is not None else IN_PROGRESS_RETRY_AFTER,
        )
    if status == 222:
        return TemporaryProviderError(
            text if details else "hunter: the mail server gave an unexpected answer",
            provider=PROVIDER,
            code="smtp_failed",
            retry_after=retry_after if retry_after is not None else SMTP_ODDITY_RETRY_AFTER,
        )
    if status == 401:
        return ProviderNotConfiguredError(text, provider=PROVIDER, code="unauthorized")
    if status == 403:
        return TemporaryProviderError(
            text,
            provider=PROVIDER,
            code="rate_limited",
            retry_after=retry_after if retry_after is not None else RATE_LIMIT_RETRY_AFTER,
        )
    if status == 429:
        # The plan's monthly quota is spent: retrying sooner only burns requests.
        return TemporaryProviderError(
            text,
            provider=PROVIDER,
            code="quota_exhausted",
            retry_after=max(retry_after or 0.0, QUOTA_RETRY_AFTER),
        )
    if status == 451 and verifying:
        # The address owner asked Hunter to stop processing it: do not contact them.
        return RecipientRejected(text, provider=PROVIDER, code="unavailable_for_legal_reasons")
    if 200 <= status < 300:
        return TemporaryProviderError(text, provider=PROVIDER, code=str(status))
    return error_for_status(response, provider=PROVIDER, code=_error_id(response), message=text)


class HunterClient:
    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key.strip():
            raise ProviderNotConfiguredError("Hunter API key is missing", provider=PROVIDER)
        # The key goes in a header rather than the query string so it stays out of URL logs.
        self._client = build_client(
            base_url,
            headers={"x-api-key": api_key.strip(), "accept": "application/json"},
            transport=transport,
        )
        self._verify_limiter = RateLimiter(10)
        self._limiter = RateLimiter(15)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HunterClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def enrich(self, person: EnrichmentInput) -> EnrichmentResult:
        params = finder_params(person)
        await self._limiter.acquire()
        data = await self._get("/email-finder", params, verifying=False)
        fields = _found_fields(data)
        if "email" not in fields:
            return EnrichmentResult(provider=PROVIDER, found=False, raw=data)
        return EnrichmentResult(provider=PROVIDER, found=True, fields=fields, cost=1.0, raw=data)

    async def verify(self, email: str) -> VerificationResult:
        address = email.strip()
        if "@" not in address:
            raise PermanentProviderError(
                f"{email!r} is not an email address", provider=PROVIDER, code="invalid_email"
            )
        await self._verify_limiter.acquire()
        data = await self._get("/email-verifier", {"email": address}, verifying=True)
        evidence = dict(data)
        evidence["hunter_status"] = data.get("status")
        if data.get("status") == "disposable":
            evidence["disposable"] = True
        return VerificationResult(
            provider=PROVIDER, status=verification_status(data), evidence=evidence, cost=1.0
        )

    async def _get(self, path: str, params: dict[str, str], *, verifying: bool) -> dict[str, Any]:
        response = await request(self._client, "GET", path, provider=PROVIDER, params=params)
        if response.status_code != 200:
            raise map_error(response, verifying=verifying)
        try:
            payload = response.json()
        except ValueError as exc:
            raise TemporaryProviderError(
                "hunter answered 200 with a body that is not JSON",
                provider=PROVIDER,
                code="bad_response",
            ) from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise TemporaryProviderError(
                "hunter answered 200 without a data object", provider=PROVIDER, code="bad_response"
            )
        return data
