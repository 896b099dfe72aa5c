"""Postmark: POST /email (PascalCase JSON); failures carry a Postmark `ErrorCode`. A message
sent with Metadata can be looked up by it afterwards (GET /messages/outbound?metadata_KEY=…)."""

from __future__ import annotations

import re
from email.utils import formataddr
from typing import Any

import httpx

from leadflood.providers.base import (
    OutboundEmail,
    PermanentProviderError,
    ProviderError,
    RecipientRejected,
    SendResult,
    TemporaryProviderError,
)
from leadflood.providers.http import RateLimiter, build_client, request, retry_after_seconds

PROVIDER = "postmark"
BASE_URL = "https://api.postmarkapp.com"
ERROR_MAINTENANCE = 100
ERROR_INVALID_EMAIL_REQUEST = 300
ERROR_INACTIVE_RECIPIENT = 406
ERROR_RATE_LIMIT = 429
_TEMPORARY_STATUSES = frozenset({429, 500, 503})
# A look-up is asked again later when it times out; the caller holds its message's row meanwhile.
LOOKUP_TIMEOUT = httpx.Timeout(5.0)
# ErrorCode 300 covers every malformed request; only these messages blame the To address.
_TO_ADDRESS = re.compile(r"'To'|\bTo address")


def postmark_payload(email: OutboundEmail, *, message_stream: str) -> dict[str, Any]:
    headers = [{"Name": "Message-ID", "Value": email.message_id}]
    headers += [{"Name": name, "Value": value} for name, value in email.headers.items()]
    payload: dict[str, Any] = {
        "From": formataddr((email.from_name or "", email.from_email)),
        "To": ", ".join(email.to),
        "Subject": email.subject,
        "TextBody": email.text,
        "Headers": headers,
        "MessageStream": message_stream,
    }
    if email.html is not None:
        payload["HtmlBody"] = email.html
    if email.reply_to:
        payload["ReplyTo"] = email.reply_to
    if email.metadata:
        payload["Metadata"] = dict(email.metadata)
    return payload


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def postmark_error(response: httpx.Response) -> ProviderError:
    body = _json_object(response)
    error_code = body.get("ErrorCode")
    message = str(body.get("Message") or response.reason_phrase)
    status = response.status_code
    code = str(error_code) if error_code is not None else str(status)
    text = f"postmark {status} ErrorCode {code}: {message}"
    if status in _TEMPORARY_STATUSES or error_code in (ERROR_MAINTENANCE, ERROR_RATE_LIMIT):
        return TemporaryProviderError(
            text, provider=PROVIDER, code=code, retry_after=retry_after_seconds(response)
        )
    if error_code == ERROR_INACTIVE_RECIPIENT:
        return RecipientRejected(text, provider=PROVIDER, code=code)
    if error_code == ERROR_INVALID_EMAIL_REQUEST and _TO_ADDRESS.search(message):
        return RecipientRejected(text, provider=PROVIDER, code=code)
    if status >= 500:
        return TemporaryProviderError(text, provider=PROVIDER, code=code)
    if error_code is None and status == 403:
        text += " (an HTML 403 comes from a network layer in front of Postmark, not the API)"
    return PermanentProviderError(text, provider=PROVIDER, code=code)


class PostmarkSender:
    name = PROVIDER

    def __init__(
        self,
        server_token: str,
        *,
        message_stream: str = "outbound",
        base_url: str = BASE_URL,
        rate_per_second: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = build_client(
            base_url,
            headers={"x-postmark-server-token": server_token, "accept": "application/json"},
            transport=transport,
        )
        self._limiter = RateLimiter(rate_per_second)
        self.message_stream = message_stream

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, email: OutboundEmail) -> SendResult:
        await self._limiter.acquire()
        response = await request(
            self._client,
            "POST",
            "/email",
            provider=PROVIDER,
            json=postmark_payload(email, message_stream=self.message_stream),
        )
        body = _json_object(response)
        if not response.is_success or body.get("ErrorCode", 0) != 0:
            raise postmark_error(response)
        message_id = body.get("MessageID")
        return SendResult(
            provider=PROVIDER,
            provider_message_id=str(message_id) if message_id else None,
            code=str(response.status_code),
            text=str(body.get("Message") or "OK"),
        )

    async def find_sent(self, key: str, value: str) -> str | None:
        """Postmark's MessageID of the message sent with `Metadata {key: value}` on this
        sender's message stream (the search reads one stream, the transactional one unless
        told), or None when Postmark has none. The search filters by one metadata field.
        Raises ProviderError when it cannot tell."""
        await self._limiter.acquire()
        response = await request(
            self._client, "GET", "/messages/outbound", provider=PROVIDER, timeout=LOOKUP_TIMEOUT,
            params={
                "count": 1, "offset": 0, "messagestream": self.message_stream,
                f"metadata_{key}": value,
            },
        )  # fmt: skip
        if not response.is_success:
            raise postmark_error(response)
        body = _json_object(response)
        messages = body.get("Messages")
        if not isinstance(messages, list) or not isinstance(body.get("TotalCount"), int):
            raise TemporaryProviderError(
                "postmark message search: the answer has no Messages list or TotalCount",
                provider=PROVIDER, code="unexpected_answer",
            )  # fmt: skip
        if not messages:
            return None
        found = messages[0].get("MessageID") if isinstance(messages[0], dict) else None
        if not found:
            raise TemporaryProviderError(
                "postmark message search: a match without a MessageID",
                provider=PROVIDER, code="unexpected_answer",
            )  # fmt: skip
        return str(found)
