"""SendGrid v3: POST /mail/send answers 202 with an empty body and an X-Message-Id header."""

from __future__ import annotations

from typing import Any

import httpx

from leadflood.providers.base import OutboundEmail, ProviderError, SendResult
from leadflood.providers.http import RateLimiter, build_client, error_for_status, request

PROVIDER = "sendgrid"
BASE_URL = "https://api.sendgrid.com/v3"


def sendgrid_payload(email: OutboundEmail) -> dict[str, Any]:
    sender: dict[str, str] = {"email": email.from_email}
    if email.from_name:
        sender["name"] = email.from_name
    # text/plain must come before text/html, or SendGrid answers 400.
    content = [{"type": "text/plain", "value": email.text}]
    if email.html is not None:
        content.append({"type": "text/html", "value": email.html})
    payload: dict[str, Any] = {
        "personalizations": [{"to": [{"email": address} for address in email.to]}],
        "from": sender,
        "subject": email.subject,
        "content": content,
        # Our Message-ID rides along so that replies thread onto the message we stored.
        "headers": {"Message-ID": email.message_id, **email.headers},
    }
    if email.reply_to:
        payload["reply_to"] = {"email": email.reply_to}
    if email.metadata:
        payload["custom_args"] = dict(email.metadata)
    return payload


def sendgrid_error(response: httpx.Response) -> ProviderError:
    """429 and 5xx are temporary, every other status (400, 401, 403, 413...) permanent."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    messages = [
        str(e.get("message")) + (f" ({e['field']})" if e.get("field") else "")
        for e in errors or []
        if isinstance(e, dict)
    ]
    detail = "; ".join(messages) or response.reason_phrase
    return error_for_status(
        response, provider=PROVIDER, message=f"sendgrid {response.status_code}: {detail}"
    )


class SendGridSender:
    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BASE_URL,
        rate_per_second: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = build_client(
            base_url, headers={"authorization": f"Bearer {api_key}"}, transport=transport
        )
        self._limiter = RateLimiter(rate_per_second)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, email: OutboundEmail) -> SendResult:
        await self._limiter.acquire()
        # Relative path: the base URL ends in /v3 and httpx joins onto it.
        response = await request(
            self._client, "POST", "mail/send", provider=PROVIDER, json=sendgrid_payload(email)
        )
        if not response.is_success:
            raise sendgrid_error(response)
        return SendResult(
            provider=PROVIDER,
            provider_message_id=response.headers.get("x-message-id"),
            code=str(response.status_code),
            text="queued",
        )
