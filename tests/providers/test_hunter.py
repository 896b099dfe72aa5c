from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.base import (
    EnrichmentInput,
    PermanentProviderError,
    ProviderNotConfiguredError,
    RecipientRejected,
    TemporaryProviderError,
)
from leadflood.providers.hunter import (
    QUOTA_RETRY_AFTER,
    HunterClient,
    verification_status,
)

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "hunter-test-key"
PATRICK = EnrichmentInput(first_name="Patrick", last_name="Collison", company_domain="stripe.com")

Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def client_for(handler: Handler, seen: list[httpx.Request] | None = None) -> HunterClient:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return HunterClient(KEY, transport=httpx.MockTransport(record))


def answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json=payload, headers=headers)


def verifier_answer(**data: Any) -> Handler:
    body = fixture("hunter_email_verifier.json")
    body["data"].update(data)
    return answer(body)


async def test_finder_sends_the_documented_request() -> None:
    seen: list[httpx.Request] = []
    person = EnrichmentInput(
        first_name=" Patrick ", last_name="Collison", company_domain="www.Stripe.com"
    )
    async with client_for(answer(fixture("hunter_email_finder.json")), seen) as hunter:
        await hunter.enrich(person)

    (request,) = seen
    assert request.method == "GET"
    assert request.url.host == "api.hunter.io"
    assert request.url.path == "/v2/email-finder"
    assert dict(request.url.params) == {
        "first_name": "Patrick",
        "last_name": "Collison",
        "domain": "stripe.com",
    }
    assert request.headers["x-api-key"] == KEY
    assert KEY not in str(request.url)


async def test_finder_maps_a_found_email() -> None:
    payload = fixture("hunter_email_finder.json")
    async with client_for(answer(payload)) as hunter:
        result = await hunter.enrich(PATRICK)

    assert result.provider == "hunter"
    assert result.found
    assert result.cost == 1.0
    assert result.fields == {
        "email": "patrick@stripe.com",
        "first_name": "Patrick",
        "last_name": "Collison",
        "title": "CEO",
        "linkedin_url": "https://www.linkedin.com/in/patrickcollison",
        "company_name": "Stripe",
        "company_domain": "stripe.com",
    }
    assert result.raw == payload["data"]
    assert result.raw["score"] == 99


async def test_finder_without_an_email_is_not_found_and_free() -> None:
    async with client_for(answer(fixture("hunter_email_finder_none.json"))) as hunter:
        result = await hunter.enrich(PATRICK)
    assert not result.found
    assert result.cost == 0.0
    assert result.fields == {}


async def test_finder_uses_company_name_when_no_domain() -> None:
    seen: list[httpx.Request] = []
    person = EnrichmentInput(first_name="Patrick", last_name="Collison", company_name="Stripe")
    async with client_for(answer(fixture("hunter_email_finder.json")), seen) as hunter:
        await hunter.enrich(person)
    assert dict(seen[0].url.params) == {
        "first_name": "Patrick",
        "last_name": "Collison",
        "company": "Stripe",
    }


@pytest.mark.parametrize(
    "person",
    [
        EnrichmentInput(first_name="Patrick", company_domain="stripe.com"),
        EnrichmentInput(last_name="Collison", company_domain="stripe.com"),
        EnrichmentInput(first_name="Patrick", last_name="Collison"),
        EnrichmentInput(email="patrick@stripe.com"),
    ],
)
async def test_finder_refuses_incomplete_input_without_calling(person: EnrichmentInput) -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer({}), seen) as hunter:
        with pytest.raises(PermanentProviderError) as caught:
            await hunter.enrich(person)
    assert caught.value.code == "insufficient_input"
    assert seen == []


async def test_verifier_sends_the_documented_request_and_keeps_evidence() -> None:
    seen: list[httpx.Request] = []
    payload = fixture("hunter_email_verifier.json")
    async with client_for(answer(payload), seen) as hunter:
        result = await hunter.verify(" patrick@stripe.com ")

    (request,) = seen
    assert request.method == "GET"
    assert request.url.path == "/v2/email-verifier"
    assert dict(request.url.params) == {"email": "patrick@stripe.com"}
    assert request.headers["x-api-key"] == KEY
    assert result.provider == "hunter"
    assert result.status == "valid"
    assert result.cost == 1.0
    for key in ("score", "regexp", "mx_records", "smtp_check", "accept_all", "disposable"):
        assert result.evidence[key] == payload["data"][key]
    assert result.evidence["hunter_status"] == "valid"


@pytest.mark.parametrize(
    ("hunter_status", "ours"),
    [
        ("valid", "valid"),
        ("invalid", "invalid"),
        ("accept_all", "risky"),
        ("webmail", "risky"),
        ("disposable", "invalid"),
        ("unknown", "unknown"),
    ],
)
async def test_verifier_maps_each_status(hunter_status: str, ours: str) -> None:
    async with client_for(verifier_answer(status=hunter_status)) as hunter:
        result = await hunter.verify("someone@example.com")
    assert result.status == ours
    assert result.evidence["hunter_status"] == hunter_status


async def test_disposable_is_flagged_in_evidence_even_if_the_boolean_is_missing() -> None:
    body = fixture("hunter_email_verifier.json")
    body["data"]["status"] = "disposable"
    del body["data"]["disposable"]
    async with client_for(answer(body)) as hunter:
        result = await hunter.verify("x@mailinator.com")
    assert result.status == "invalid"
    assert result.evidence["disposable"] is True


def test_deprecated_result_is_used_only_without_status() -> None:
    assert verification_status({"result": "undeliverable"}) == "invalid"
    assert verification_status({"result": "risky"}) == "risky"
    assert verification_status({"status": "accept_all", "result": "deliverable"}) == "risky"
    assert verification_status({}) == "unknown"


@settings(deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["status", "result", "score"]),
        st.one_of(st.none(), st.text(max_size=12), st.integers()),
    )
)
def test_any_verifier_payload_maps_to_one_of_our_statuses(data: dict[str, Any]) -> None:
    assert verification_status(data) in {"valid", "risky", "invalid", "unknown"}


async def test_verifier_refuses_a_non_address_without_calling() -> None:
    seen: list[httpx.Request] = []
    async with client_for(answer({}), seen) as hunter:
        with pytest.raises(PermanentProviderError):
            await hunter.verify("not-an-address")
    assert seen == []


@pytest.mark.parametrize(
    ("status", "headers", "code", "retry_after"),
    [
        (202, {}, "in_progress", 10.0),
        (202, {"retry-after": "3"}, "in_progress", 3.0),
        (222, {}, "smtp_failed", 300.0),
        (403, {}, "rate_limited", 60.0),
        (403, {"retry-after": "2"}, "rate_limited", 2.0),
        (429, {}, "quota_exhausted", QUOTA_RETRY_AFTER),
        (429, {"retry-after": "1"}, "quota_exhausted", QUOTA_RETRY_AFTER),
        (500, {"retry-after": "7"}, "server_error", 7.0),
        (502, {}, "server_error", None),
    ],
)
async def test_temporary_statuses(
    status: int, headers: dict[str, str], code: str, retry_after: float | None
) -> None:
    body: dict[str, Any] = {
        "errors": [{"id": "server_error", "code": status, "details": "try later"}]
    }
    if status == 202:
        body = {"data": {"status": "unknown"}}
    async with client_for(answer(body, status, headers)) as hunter:
        with pytest.raises(TemporaryProviderError) as caught:
            await hunter.verify("patrick@stripe.com")
    assert caught.value.code == code
    assert caught.value.retry_after == retry_after
    assert caught.value.provider == "hunter"


async def test_quota_exhaustion_keeps_a_longer_provider_retry_after() -> None:
    async with client_for(answer({}, 429, {"retry-after": "172800"})) as hunter:
        with pytest.raises(TemporaryProviderError) as caught:
            await hunter.enrich(PATRICK)
    assert caught.value.retry_after == 172800.0


async def test_bad_key_is_a_configuration_error() -> None:
    body = {"errors": [{"id": "authentication_failed", "code": 401, "details": "No user found"}]}
    async with client_for(answer(body, 401)) as hunter:
        with pytest.raises(ProviderNotConfiguredError) as caught:
            await hunter.verify("patrick@stripe.com")
    assert caught.value.code == "unauthorized"
    assert not caught.value.temporary


@pytest.mark.parametrize("status", [400, 422])
async def test_invalid_requests_are_permanent_with_hunter_details(status: int) -> None:
    body = fixture("hunter_error_400.json")
    body["errors"][0]["code"] = status
    async with client_for(answer(body, status)) as hunter:
        with pytest.raises(PermanentProviderError) as caught:
            await hunter.enrich(PATRICK)
    assert "You are missing the domain parameter" in str(caught.value)
    assert caught.value.code == "wrong_params"
    assert not caught.value.temporary
    assert not isinstance(caught.value, RecipientRejected)


async def test_legal_block_on_the_verifier_rejects_the_recipient() -> None:
    body = {"errors": [{"id": "claimed_email", "code": 451, "details": "The owner asked"}]}
    async with client_for(answer(body, 451)) as hunter:
        with pytest.raises(RecipientRejected):
            await hunter.verify("claimed@example.com")
    async with client_for(answer(body, 451)) as hunter:
        with pytest.raises(PermanentProviderError) as caught:
            await hunter.enrich(PATRICK)
    assert not isinstance(caught.value, RecipientRejected)


async def test_timeouts_are_temporary() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    async with client_for(slow) as hunter:
        with pytest.raises(TemporaryProviderError) as caught:
            await hunter.verify("patrick@stripe.com")
    assert caught.value.code == "timeout"


async def test_success_without_data_is_temporary() -> None:
    async with client_for(answer({"meta": {}})) as hunter:
        with pytest.raises(TemporaryProviderError):
            await hunter.verify("patrick@stripe.com")


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ProviderNotConfiguredError):
        HunterClient("")
