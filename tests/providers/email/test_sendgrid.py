from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadflood.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfiguredError,
    RecipientRejected,
    TemporaryProviderError,
)
from leadflood.providers.email import SendGridSender, build_email_sender
from tests.providers.email import messages
from tests.support.fake_api import FakeApi

ERRORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "sendgrid.json").read_text()
)["errors"]
X_MESSAGE_ID = "W86EgYT6SQKk0lRflfLRsA"


# SendGrid's custom_args carry our message id too.
make_email = partial(messages.make_email, metadata={"lead_id": "42", "message_id": "m-1"})


def sender(api: FakeApi, **options: Any) -> SendGridSender:
    return SendGridSender("SG.test", transport=api.transport, rate_per_second=1000, **options)


async def test_request_shape(api: FakeApi) -> None:
    api.reply(202, headers={"x-message-id": X_MESSAGE_ID})
    result = await sender(api).send(make_email())

    (request,) = api.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers["authorization"] == "Bearer SG.test"
    assert request.headers["content-type"] == "application/json"
    assert api.last_json == {
        "personalizations": [{"to": [{"email": "lead@prospect.test"}]}],
        "from": {"email": "ana@sender.test", "name": "Ana Lopez"},
        "reply_to": {"email": "replies@sender.test"},
        "subject": "Quick question",
        "content": [
            {"type": "text/plain", "value": "Hi there"},
            {"type": "text/html", "value": "<p>Hi there</p>"},
        ],
        "headers": {
            "Message-ID": "<lead-42.step-1@mail.sender.test>",
            "List-Unsubscribe": "<https://app.test/u/tok>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "custom_args": {"lead_id": "42", "message_id": "m-1"},
    }
    assert result.provider == "sendgrid"
    assert result.provider_message_id == X_MESSAGE_ID
    assert result.code == "202"


async def test_eu_base_url_and_plain_text_only(api: FakeApi) -> None:
    api.reply(202, headers={"x-message-id": X_MESSAGE_ID})
    built = build_email_sender(
        "sendgrid",
        {"api_key": "SG.eu", "base_url": "https://api.eu.sendgrid.com/v3"},
        transport=api.transport,
    )
    assert built.name == "sendgrid"
    await built.send(
        make_email(
            from_name=None, html=None, reply_to=None, metadata={}, to=["a@x.test", "b@x.test"]
        )
    )
    (request,) = api.requests
    assert str(request.url) == "https://api.eu.sendgrid.com/v3/mail/send"
    assert request.headers["authorization"] == "Bearer SG.eu"
    body = api.last_json
    assert body["from"] == {"email": "ana@sender.test"}
    assert body["content"] == [{"type": "text/plain", "value": "Hi there"}]
    assert body["personalizations"] == [{"to": [{"email": "a@x.test"}, {"email": "b@x.test"}]}]
    assert not {"reply_to", "custom_args"} & body.keys()


@pytest.mark.parametrize(
    ("status", "name", "kind", "text"),
    [
        (400, "bad_request", PermanentProviderError, "must be provided for every email send"),
        (401, "unauthorized", PermanentProviderError, "authorization grant is invalid"),
        (403, "forbidden", PermanentProviderError, "verified Sender Identity"),
        (413, "too_large", PermanentProviderError, "too large"),
        (429, "too_many_requests", TemporaryProviderError, "too many requests"),
        (500, "server_error", TemporaryProviderError, "internal error"),
        (503, "server_error", TemporaryProviderError, "internal error"),
    ],
)
async def test_error_mapping(
    api: FakeApi, status: int, name: str, kind: type[ProviderError], text: str
) -> None:
    api.reply(status, json=ERRORS[name], headers={"retry-after": "5"})
    with pytest.raises(ProviderError) as caught:
        await sender(api).send(make_email())
    error = caught.value
    assert type(error) is kind
    assert not isinstance(error, RecipientRejected)
    assert error.code == str(status)
    assert error.provider == "sendgrid"
    assert text in str(error)
    assert error.retry_after == (5 if kind is TemporaryProviderError else None)


async def test_field_is_named_in_the_message(api: FakeApi) -> None:
    api.reply(400, json=ERRORS["bad_request"])
    with pytest.raises(PermanentProviderError, match=r"\(from\)"):
        await sender(api).send(make_email())


async def test_connection_error_is_temporary(api: FakeApi) -> None:
    api.fail(httpx.ConnectError("refused"))
    with pytest.raises(TemporaryProviderError):
        await sender(api).send(make_email())


def test_missing_api_key_is_not_configured() -> None:
    with pytest.raises(ProviderNotConfiguredError):
        build_email_sender("sendgrid", {"api_key": ""})
