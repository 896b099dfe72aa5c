"""Resend: POST /emails with an Idempotency-Key, so a retried request is delivered once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import formataddr
from typing import Any

import httpx

from leadflood.providers.base import (
    OutboundEmail,
    PermanentProviderError,
    ProviderError,
    SendResult,
    TemporaryProviderError,
)
from leadflood.providers.http import (
    RateLimiter,
    build_client,
    error_for_status,
    request,
    retry_after_seconds,
)

PROVIDER = "resend"
BASE_URL = "https://api.resend.com"
MAX_IDEMPOTENCY_KEY = 256
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _tag(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value)[:256]


def _seconds_until_quota_reset(name: str, now: datetime) -> float:
    """Quotas reset at the start of the next UTC day or month."""
    if name == "monthly_quota_exceeded":
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        reset = (first + timedelta(days=32)).replace(day=1)
    else:
        reset = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (reset - now).total_seconds()


def resend_payload(email: OutboundEmail) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "from": formataddr((email.from_name or "", email.from_email)),
        "to": list(email.to),
        "subject": email.subject,
        "text": email.text,
        # Our Message-ID rides along so that replies thread onto the message we stored.
        "headers": {"Message-ID": email.message_id, **email.headers},
    }
    if email.html is not None:
        payload["html"] = email.html
    if email.reply_to:
        payload["reply_to"] = email.reply_to
    if email.metadata:
        payload["tags"] = [{"name": _tag(k), "value": _tag(v)} for k, v in email.metadata.items()]
    return payload


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def resend_error(response: httpx.Response, *, now: datetime) -> ProviderError:
    body = _json_object(response)
    name = str(body.get("name") or response.status_code)
    detail = body.get("message") or response.reason_phrase
    text = f"resend {response.status_code} {name}: {detail}"
    status = response.status_code
    if status == 409 and name == "concurrent_idempotent_requests":
        retry = retry_after_seconds(response)
        return TemporaryProviderError(text, provider=PROVIDER, code=name, retry_after=retry or 1.0)
    if status == 429 and name in ("daily_quota_exceeded", "monthly_quota_exceeded"):
        retry = max(retry_after_seconds(response) or 0.0, _seconds_until_quota_reset(name, now))
        return TemporaryProviderError(text, provider=PROVIDER, code=name, retry_after=retry)
    return error_for_status(response, provider=PROVIDER, code=name, message=text)


class ResendSender:
    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BASE_URL,
        rate_per_second: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = build_client(
            base_url, headers={"authorization": f"Bearer {api_key}"}, transport=transport
        )
        self._limiter = RateLimiter(rate_per_second)
        self._clock = clock

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, email: OutboundEmail) -> SendResult:
        headers: dict[str, str] = {}
        if email.idempotency_key is not None:
            if not 0 < len(email.idempotency_key) <= MAX_IDEMPOTENCY_KEY:
                raise PermanentProviderError(
                    f"Resend idempotency keys are 1 to {MAX_IDEMPOTENCY_KEY} characters",
                    provider=PROVIDER,
                    code="invalid_idempotency_key",
                )
            headers["idempotency-key"] = email.idempotency_key
        await self._limiter.acquire()
        response = await request(
            self._client,
            "POST",
            "/emails",
            provider=PROVIDER,
            json=resend_payload(email),
            headers=headers,
        )
        if not response.is_success:
            raise resend_error(response, now=self._clock())
        message_id = _json_object(response).get("id")
        if not message_id:
            # Retrying is safe: the idempotency key makes Resend answer with the same email.
            raise TemporaryProviderError(
                f"resend answered {response.status_code} without an email id",
                provider=PROVIDER,
                code="bad_response",
            )
        return SendResult(
            provider=PROVIDER,
            provider_message_id=str(message_id),
            code=str(response.status_code),
            text="accepted",
        )

    async def received(self, email_id: str) -> dict[str, Any]:
        """A received email (GET /emails/receiving/{email_id}): the `email.received` webhook
        carries its envelope only; this has its `text`, `html` and `headers`."""
        await self._limiter.acquire()
        response = await request(
            self._client, "GET", f"/emails/receiving/{email_id}", provider=PROVIDER
        )
        if not response.is_success:
            raise resend_error(response, now=self._clock())
        found: dict[str, Any] = response.json()
        return found
