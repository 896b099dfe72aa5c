from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflood.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfiguredError,
    TemporaryProviderError,
)
from leadflood.providers.email import ResendSender, build_email_sender
from leadflood.providers.email.resend import resend_error
from tests.providers.email import messages
from tests.support.fake_api import FakeApi

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "resend.json").read_text()
)
ERRORS: dict[str, Any] = FIXTURES["errors"]


# Resend is also given an idempotency key, and tags (whose values it wants without spaces).
make_email = partial(
    messages.make_email,
    idempotency_key="msg-0191f2c4",
    metadata={"lead_id": "42", "step": "step 1"},
)


def sender(api: FakeApi, **options: Any) -> ResendSender:
    return ResendSender("re_test_key", transport=api.transport, rate_per_second=1000, **options)


async def test_request_shape(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["send_ok"])
    result = await sender(api).send(make_email())

    (request,) = api.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.resend.com/emails"
    assert request.headers["authorization"] == "Bearer re_test_key"
    assert request.headers["idempotency-key"] == "msg-0191f2c4"
    assert request.headers["content-type"] == "application/json"
    assert api.last_json == {
        "from": "Ana Lopez <ana@sender.test>",
        "to": ["lead@prospect.test"],
        "subject": "Quick question",
        "text": "Hi there",
        "html": "<p>Hi there</p>",
        "reply_to": "replies@sender.test",
        "headers": {
            "Message-ID": "<lead-42.step-1@mail.sender.test>",
            "List-Unsubscribe": "<https://app.test/u/tok>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "tags": [{"name": "lead_id", "value": "42"}, {"name": "step", "value": "step_1"}],
    }
    assert result.provider == "resend"
    assert result.provider_message_id == "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"
    assert result.code == "200"


async def test_minimal_email_and_configured_base_url(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["send_ok"])
    built = build_email_sender(
        "resend", {"api_key": "re_x", "base_url": "http://resend.local/"}, transport=api.transport
    )
    assert built.name == "resend"
    await built.send(
        make_email(from_name=None, html=None, reply_to=None, idempotency_key=None, metadata={})
    )
    (request,) = api.requests
    assert str(request.url) == "http://resend.local/emails"
    assert "idempotency-key" not in request.headers
    body = api.last_json
    assert body["from"] == "ana@sender.test"
    assert not {"html", "reply_to", "tags"} & body.keys()


NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "name", "headers", "kind", "retry_after"),
    [
        (422, "validation_error_422", {}, PermanentProviderError, None),
        (422, "invalid_from_address", {}, PermanentProviderError, None),
        (400, "validation_error_400", {}, PermanentProviderError, None),
        (401, "missing_api_key", {}, PermanentProviderError, None),
        (403, "invalid_api_key", {}, PermanentProviderError, None),
        (409, "invalid_idempotent_request", {}, PermanentProviderError, None),
        (409, "concurrent_idempotent_requests", {"retry-after": "3"}, TemporaryProviderError, 3),
        (429, "rate_limit_exceeded", {"retry-after": "1"}, TemporaryProviderError, 1),
        (429, "daily_quota_exceeded", {}, TemporaryProviderError, 6 * 3600),
        (429, "monthly_quota_exceeded", {"retry-after": "60"}, TemporaryProviderError, 6 * 3600),
        (451, "security_error", {}, PermanentProviderError, None),
        (500, "application_error", {}, TemporaryProviderError, None),
    ],
)
async def test_error_mapping(
    api: FakeApi,
    status: int,
    name: str,
    headers: dict[str, str],
    kind: type[ProviderError],
    retry_after: float | None,
) -> None:
    body = ERRORS[name]
    api.reply(status, json=body, headers=headers)
    with pytest.raises(ProviderError) as caught:
        await sender(api, clock=lambda: NOW).send(make_email())
    error = caught.value
    assert type(error) is kind
    assert error.code == body["name"]
    assert error.provider == "resend"
    assert body["message"] in str(error)
    assert error.retry_after == retry_after


async def test_unparseable_error_body_falls_back_to_the_status(api: FakeApi) -> None:
    api.reply(502, text="<html>Bad gateway</html>")
    with pytest.raises(TemporaryProviderError) as caught:
        await sender(api).send(make_email())
    assert caught.value.code == "502"


async def test_success_without_an_id_is_retryable(api: FakeApi) -> None:
    api.reply(200, json={})
    with pytest.raises(TemporaryProviderError):
        await sender(api).send(make_email())


async def test_network_failure_is_temporary(api: FakeApi) -> None:
    api.fail(httpx.ConnectError("connection refused"))
    with pytest.raises(TemporaryProviderError) as caught:
        await sender(api).send(make_email())
    assert caught.value.code == "network"


async def test_overlong_idempotency_key_is_refused_before_sending(api: FakeApi) -> None:
    with pytest.raises(PermanentProviderError):
        await sender(api).send(make_email(idempotency_key="k" * 257))
    assert api.requests == []


async def test_requests_are_spaced_by_the_rate_limit(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["send_ok"])
    limited = ResendSender("re_x", transport=api.transport, rate_per_second=20)
    started = time.monotonic()
    for _ in range(4):
        await limited.send(make_email())
    assert time.monotonic() - started >= 3 / 20 - 0.01


def test_missing_api_key_is_not_configured() -> None:
    with pytest.raises(ProviderNotConfiguredError):
        build_email_sender("resend", {"base_url": "http://resend.local"})


@given(
    now=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    name=st.sampled_from(["daily_quota_exceeded", "monthly_quota_exceeded"]),
)
def test_quota_retry_lands_exactly_on_the_next_reset(now: datetime, name: str) -> None:
    response = httpx.Response(429, json={"statusCode": 429, "message": "quota", "name": name})
    error = resend_error(response, now=now)
    assert isinstance(error, TemporaryProviderError)
    assert error.retry_after is not None
    reset = now + timedelta(seconds=error.retry_after)
    assert (reset.hour, reset.minute, reset.second, reset.microsecond) == (0, 0, 0, 0)
    if name == "daily_quota_exceeded":
        assert reset.date() == (now + timedelta(days=1)).date()
    else:
        assert reset.day == 1
        assert timedelta(0) < reset - now <= timedelta(days=31)
