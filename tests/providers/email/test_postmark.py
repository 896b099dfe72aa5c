from __future__ import annotations

import json
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
from leadflood.providers.email import PostmarkSender, build_email_sender
from tests.providers.email.messages import make_email
from tests.support.fake_api import FakeApi

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "postmark.json").read_text()
)
ERRORS: dict[str, Any] = FIXTURES["errors"]


def sender(api: FakeApi, **options: Any) -> PostmarkSender:
    return PostmarkSender(
        "pm-server-token", transport=api.transport, rate_per_second=1000, **options
    )


async def test_request_shape(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["send_ok"])
    result = await sender(api).send(make_email())

    (request,) = api.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.postmarkapp.com/email"
    assert request.headers["x-postmark-server-token"] == "pm-server-token"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert api.last_json == {
        "From": "Ana Lopez <ana@sender.test>",
        "To": "lead@prospect.test",
        "Subject": "Quick question",
        "TextBody": "Hi there",
        "HtmlBody": "<p>Hi there</p>",
        "ReplyTo": "replies@sender.test",
        "Headers": [
            {"Name": "Message-ID", "Value": "<lead-42.step-1@mail.sender.test>"},
            {"Name": "List-Unsubscribe", "Value": "<https://app.test/u/tok>"},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ],
        "MessageStream": "outbound",
        "Metadata": {"lead_id": "42"},
    }
    assert result.provider == "postmark"
    assert result.provider_message_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    assert (result.code, result.text) == ("200", "OK")


async def test_configured_stream_base_url_and_several_recipients(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["send_ok"])
    built = build_email_sender(
        "postmark",
        {"api_key": "tok", "message_stream": "cold-outreach", "base_url": "http://pm.local"},
        transport=api.transport,
    )
    assert built.name == "postmark"
    await built.send(make_email(to=["a@x.test", "b@x.test"], html=None, reply_to=None, metadata={}))
    assert str(api.requests[0].url) == "http://pm.local/email"
    body = api.last_json
    assert body["MessageStream"] == "cold-outreach"
    assert body["To"] == "a@x.test, b@x.test"
    assert not {"HtmlBody", "ReplyTo", "Metadata"} & body.keys()


@pytest.mark.parametrize(
    ("status", "name", "kind", "code"),
    [
        (422, "inactive_recipient", RecipientRejected, "406"),
        (422, "invalid_to", RecipientRejected, "300"),
        (422, "invalid_from", PermanentProviderError, "300"),
        (422, "zero_recipients", PermanentProviderError, "300"),
        (401, "bad_token", PermanentProviderError, "10"),
        (422, "sender_signature_missing", PermanentProviderError, "400"),
        (503, "maintenance", TemporaryProviderError, "100"),
        (422, "maintenance", TemporaryProviderError, "100"),
        (429, "rate_limit", TemporaryProviderError, "429"),
        (500, "server_error", TemporaryProviderError, "500"),
    ],
)
async def test_error_mapping(
    api: FakeApi, status: int, name: str, kind: type[ProviderError], code: str
) -> None:
    api.reply(status, json=ERRORS[name])
    with pytest.raises(ProviderError) as caught:
        await sender(api).send(make_email())
    assert type(caught.value) is kind
    assert caught.value.code == code
    assert caught.value.provider == "postmark"
    assert ERRORS[name]["Message"] in str(caught.value)


async def test_html_403_from_the_network_layer_is_permanent(api: FakeApi) -> None:
    api.reply(403, text="<html><body>Forbidden</body></html>")
    with pytest.raises(PermanentProviderError, match="network layer") as caught:
        await sender(api).send(make_email())
    assert caught.value.code == "403"


async def test_503_without_body_is_temporary_with_retry_after(api: FakeApi) -> None:
    api.reply(503, text="", headers={"retry-after": "30"})
    with pytest.raises(TemporaryProviderError) as caught:
        await sender(api).send(make_email())
    assert caught.value.retry_after == 30


async def test_timeout_is_temporary(api: FakeApi) -> None:
    api.fail(httpx.ReadTimeout("slow"))
    with pytest.raises(TemporaryProviderError) as caught:
        await sender(api).send(make_email())
    assert caught.value.code == "timeout"


def test_missing_server_token_is_not_configured() -> None:
    with pytest.raises(ProviderNotConfiguredError):
        build_email_sender("postmark", {"message_stream": "outbound"})


async def test_a_sent_message_is_found_by_its_metadata(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["search_found"])
    found = await sender(api).find_sent("message", "6f1c8a52-3c3e-4f4e-9d0e-7f0b8a1d2c3e")

    (request,) = api.requests
    assert request.method == "GET"
    assert request.url.path == "/messages/outbound"
    assert dict(request.url.params) == {
        "count": "1",
        "offset": "0",
        "messagestream": "outbound",
        "metadata_message": "6f1c8a52-3c3e-4f4e-9d0e-7f0b8a1d2c3e",
    }
    assert request.headers["x-postmark-server-token"] == "pm-server-token"
    assert request.extensions["timeout"]["read"] == 5.0  # short: asked again when it times out
    assert found == "0ac29aee-e1cd-480d-b08d-4f48548ff48d"


async def test_a_message_postmark_never_took_is_not_found(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["search_none"])
    assert await sender(api).find_sent("message", "6f1c8a52") is None


async def test_the_search_reads_the_senders_own_message_stream(api: FakeApi) -> None:
    api.reply(200, json=FIXTURES["search_none"])
    await sender(api, message_stream="cold-outreach").find_sent("message", "6f1c8a52")
    assert api.requests[0].url.params["messagestream"] == "cold-outreach"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"ErrorCode": 500, "Message": "Internal server error."}),
        (200, {"Message": "OK"}),  # no TotalCount, no Messages: cannot tell
        (200, {"TotalCount": 1, "Messages": [{"Subject": "no id"}]}),
    ],
)
async def test_a_search_that_cannot_tell_raises_a_temporary_error(
    api: FakeApi, status: int, body: dict[str, Any]
) -> None:
    api.reply(status, json=body)
    with pytest.raises(TemporaryProviderError):
        await sender(api).find_sent("message", "6f1c8a52")


async def test_a_refused_search_says_why(api: FakeApi) -> None:
    api.reply(401, json=FIXTURES["errors"]["bad_token"])
    with pytest.raises(PermanentProviderError, match="ErrorCode 10"):
        await sender(api).find_sent("message", "6f1c8a52")
