"""Provider webhooks replayed from the providers' documented payload shapes (see
tests/inbox/webhooks/): signed the provider's way they are stored once and have their effects
(a reply stops the enrollment, a hard bounce or a complaint suppresses); unsigned, wrongly
signed or stale requests are refused with 401 and a stable code, and counted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from leadflood import events
from leadflood.auth.principal import CurrentMember
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    InboundItem,
    Message,
    MessageStatus,
    Role,
    Suppression,
    WebhookEvent,
    Workspace,
)
from leadflood.runtime import Runtime
from leadflood.webhooks import service as outbound_webhooks
from leadflood.webhooks.schemas import EndpointCreate
from tests.factories import (
    make_bare_sequence,
    make_enrollment,
    make_lead,
    make_mailbox,
    queue_message,
)
from tests.support.accounts import Account

FIXTURES = Path(__file__).parent / "webhooks"
LEAD = "ada@prospect.example"
PROVIDER_ID = "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
RESEND_SECRET = "whsec_" + base64.b64encode(b"a resend signing secret!").decode()


def fixture(name: str, **values: str) -> str:
    text = (FIXTURES / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


async def _sent(runtime: Runtime, owner: Account, provider_id: str = PROVIDER_ID) -> Any:
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, from_email="sam@sender.example")
        lead = await make_lead(session, owner.workspace_id, email=LEAD, first_name="Ada")
        sequence, (step,) = await make_bare_sequence(session, owner.workspace_id)
        enrollment = await make_enrollment(session, owner.workspace_id, sequence.id, lead.id)
        message = await queue_message(
            session, runtime.settings, box, lead, enrollment=enrollment, step=step
        )
        message.status = MessageStatus.sent
        message.provider_message_id = provider_id
    return enrollment, message


async def _state(runtime: Runtime, enrollment: Enrollment) -> tuple[str, str | None]:
    async with runtime.db.session() as session:
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None
        return row.state, row.stop_reason


async def _suppressed(runtime: Runtime, owner: Account) -> str | None:
    async with runtime.db.session() as session:
        return await session.scalar(
            select(Suppression.reason).where(
                Suppression.workspace_id == owner.workspace_id, Suppression.value == LEAD
            )
        )


async def _inbound(runtime: Runtime) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(Message.direction == "inbound")
        return list((await session.scalars(query)).all())


async def _items(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundItem)) or 0)


async def _endpoint(client: httpx.AsyncClient, kind: str, **settings: str) -> str:
    response = await client.put(f"/v1/inbound/endpoints/{kind}", json=settings)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["configured"] is True
    url: str = body["url"]
    return url.removeprefix("http://127.0.0.1:8000")


async def _refused(client: httpx.AsyncClient, kind: str) -> tuple[int, str | None]:
    body = (await client.get(f"/v1/inbound/endpoints/{kind}")).json()
    return body["refused_count"], body["last_refused_code"]


def _metric(kind: str, workspace: uuid.UUID | str, result: str) -> float:
    labels = {"kind": kind, "workspace": str(workspace), "result": result}
    return REGISTRY.get_sample_value("leadflood_inbound_webhooks_total", labels) or 0.0


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


# ---- Postmark: basic auth --------------------------------------------------------------------


async def test_postmark_hard_bounce_suppresses_once_and_wrong_credentials_are_refused(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, _ = await _sent(runtime, owner)
    path = await _endpoint(client, "postmark", username="postmark", password="s3cret-pass")
    body = fixture("postmark_bounce.json", message_id=PROVIDER_ID, email=LEAD)

    before = _metric("postmark", owner.workspace_id, "webhook_signature_invalid")
    wrong = await anon_client.post(path, content=body, headers=_basic("postmark", "guess"))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "webhook_signature_invalid"
    unsigned = await anon_client.post(path, content=body)
    assert unsigned.json()["error"]["code"] == "webhook_unsigned"
    assert await _refused(client, "postmark") == (2, "webhook_unsigned")
    assert _metric("postmark", owner.workspace_id, "webhook_signature_invalid") == before + 1
    assert await _items(runtime) == 0 and await _suppressed(runtime, owner) is None

    ok = await anon_client.post(path, content=body, headers=_basic("postmark", "s3cret-pass"))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"stored": 1, "duplicates": 0, "processed": 1}
    assert await _suppressed(runtime, owner) == "bounced"
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "bounced")
    (bounce,) = await _inbound(runtime)
    assert bounce.classification is not None
    assert bounce.classification["kind"] == "bounce"
    assert bounce.classification["bounce_type"] == "hard"
    assert bounce.classification["matched_by"] == "message_id"

    again = await anon_client.post(path, content=body, headers=_basic("postmark", "s3cret-pass"))
    assert again.json() == {"stored": 0, "duplicates": 1, "processed": 0}
    assert len(await _inbound(runtime)) == 1 and await _items(runtime) == 1


async def test_postmark_inbound_reply_without_raw_email_stops_the_enrollment(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, sent = await _sent(runtime, owner)
    path = await _endpoint(client, "postmark", username="pm", password="pw-1234567")
    body = fixture("postmark_inbound.json", in_reply_to=sent.message_id, email=LEAD)
    response = await anon_client.post(path, content=body, headers=_basic("pm", "pw-1234567"))
    assert response.status_code == 200, response.text
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "replied")
    (reply,) = await _inbound(runtime)
    assert reply.classification is not None and reply.classification["kind"] == "reply"
    assert reply.from_address == LEAD and "Thursday" in (reply.body_text or "")


async def test_postmark_spam_complaint_suppresses(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, _ = await _sent(runtime, owner)
    path = await _endpoint(client, "postmark", username="pm", password="pw-1234567")
    body = fixture("postmark_spam_complaint.json", message_id=PROVIDER_ID, email=LEAD)
    response = await anon_client.post(path, content=body, headers=_basic("pm", "pw-1234567"))
    assert response.status_code == 200, response.text
    assert await _suppressed(runtime, owner) == "complained"
    assert (await _state(runtime, enrollment))[0] == EnrollmentState.stopped


# ---- Resend: Svix ---------------------------------------------------------------------------


def _svix(
    body: str, *, secret: str = RESEND_SECRET, msg_id: str = "msg_1", at: float | None = None
):
    timestamp = str(int(time.time() if at is None else at))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "svix-id": msg_id,
        "svix-timestamp": timestamp,
        "svix-signature": f"v1,bm90IHRoaXMgb25l v1,{signature}",
        "content-type": "application/json",
    }


async def test_resend_signed_bounce_suppresses_and_bad_signatures_are_refused(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, _ = await _sent(runtime, owner)
    path = await _endpoint(client, "resend", signing_secret=RESEND_SECRET)
    body = fixture("resend_bounced.json", email_id=PROVIDER_ID, email=LEAD)

    other = "whsec_" + base64.b64encode(b"someone else's secret").decode()
    refused = {
        "webhook_signature_invalid": _svix(body, secret=other),
        "webhook_signature_stale": _svix(body, at=time.time() - 301),
        "webhook_unsigned": {"content-type": "application/json"},
    }
    for code, headers in refused.items():
        response = await anon_client.post(path, content=body, headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == code
    tampered = body.replace("Permanent", "Transient")
    response = await anon_client.post(path, content=tampered, headers=_svix(body))
    assert response.json()["error"]["code"] == "webhook_signature_invalid"
    assert await _refused(client, "resend") == (4, "webhook_signature_invalid")
    assert await _items(runtime) == 0

    response = await anon_client.post(path, content=body, headers=_svix(body))
    assert response.status_code == 200, response.text
    assert await _suppressed(runtime, owner) == "bounced"
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "bounced")
    # Svix retries the same message (same svix-id), signed again later.
    retry = await anon_client.post(path, content=body, headers=_svix(body))
    assert retry.json()["duplicates"] == 1
    assert len(await _inbound(runtime)) == 1


async def test_resend_complaint_suppresses_and_received_email_stops_the_enrollment(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, _ = await _sent(runtime, owner)
    path = await _endpoint(client, "resend", signing_secret=RESEND_SECRET)
    received = fixture("resend_received.json", email=LEAD)
    response = await anon_client.post(path, content=received, headers=_svix(received))
    assert response.status_code == 200, response.text
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "replied")
    complaint = fixture("resend_complained.json", email_id=PROVIDER_ID, email=LEAD)
    headers = _svix(complaint, msg_id="msg_2")
    assert (await anon_client.post(path, content=complaint, headers=headers)).status_code == 200
    assert await _suppressed(runtime, owner) == "complained"


# ---- SendGrid: ECDSA ------------------------------------------------------------------------


def _keys() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


def _sendgrid(private: ec.EllipticCurvePrivateKey, body: bytes, **extra: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        **extra,
    }


async def test_sendgrid_signed_events_bounce_suppresses_and_other_keys_are_refused(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    x_message_id = "LRzXl_NHStOGhQ4kofSm_A"
    enrollment, _ = await _sent(runtime, owner, provider_id=x_message_id)
    private, public = _keys()
    path = await _endpoint(client, "sendgrid-events", public_key=public)
    # The Event Webhook's bytes as SendGrid posts them, CRLF included (it is signed).
    body = fixture("sendgrid_events.json", x_message_id=x_message_id, email=LEAD).encode()
    body = body.rstrip(b"\n") + b"\r\n"

    stranger, _ = _keys()
    json_type = {"Content-Type": "application/json"}
    wrong = await anon_client.post(
        path, content=body, headers=_sendgrid(stranger, body, **json_type)
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "webhook_signature_invalid"
    unsigned = await anon_client.post(path, content=body, headers=json_type)
    assert unsigned.json()["error"]["code"] == "webhook_unsigned"
    assert (await _refused(client, "sendgrid-events"))[0] == 2

    ok = await anon_client.post(path, content=body, headers=_sendgrid(private, body, **json_type))
    assert ok.status_code == 200, ok.text
    # processed, delivered and open change nothing; the bounce is recorded.
    assert ok.json() == {"stored": 4, "duplicates": 0, "processed": 1}
    assert await _suppressed(runtime, owner) == "bounced"
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "bounced")
    (bounce,) = await _inbound(runtime)
    assert bounce.classification is not None
    assert bounce.classification["bounce_type"] == "hard"
    assert bounce.classification["status"] == "5.1.1"
    again = await anon_client.post(
        path, content=body, headers=_sendgrid(private, body, **json_type)
    )
    assert again.json() == {"stored": 0, "duplicates": 4, "processed": 0}


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "xYzZY"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"


async def test_sendgrid_inbound_parse_raw_and_parsed_replies_stop_the_enrollment(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, sent = await _sent(runtime, owner)
    private, public = _keys()
    path = await _endpoint(client, "sendgrid-parse", public_key=public)
    raw = (
        f"From: Ada <{LEAD}>\r\nTo: reply@inbound.sender.example\r\nSubject: Re: Quick question"
        f"\r\nMessage-ID: <r1@prospect.example>\r\nIn-Reply-To: {sent.message_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nYes, let us talk on Thursday.\r\n"
    )
    body, content_type = _multipart(
        {"email": raw, "to": "reply@inbound.sender.example", "from": f"Ada <{LEAD}>",
         "charsets": json.dumps({"email": "UTF-8", "to": "UTF-8", "from": "UTF-8"})}
    )  # fmt: skip
    unsigned = await anon_client.post(path, content=body, headers={"Content-Type": content_type})
    assert unsigned.json()["error"]["code"] == "webhook_unsigned"
    headers = _sendgrid(private, body, **{"Content-Type": content_type})
    response = await anon_client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "replied")
    (reply,) = await _inbound(runtime)
    assert reply.message_id == "<r1@prospect.example>"

    # The parsed form (no "send raw"), with the same Message-ID: the same mail, stored once.
    head = raw.split("\r\n\r\n")[0] + "\r\n"
    parsed, content_type = _multipart(
        {"headers": head, "text": "Yes, let us talk on Thursday.", "from": LEAD,
         "to": "reply@inbound.sender.example", "subject": "Re: Quick question"}
    )  # fmt: skip
    headers = _sendgrid(private, parsed, **{"Content-Type": content_type})
    again = await anon_client.post(path, content=parsed, headers=headers)
    assert again.json()["duplicates"] == 1


# ---- endpoints --------------------------------------------------------------------------------


async def test_unknown_and_unconfigured_endpoints_refuse(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    unknown = await anon_client.post("/v1/inbound/resend/not-a-token", content=b"{}")
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "webhook_unknown_endpoint"
    created = (await client.put("/v1/inbound/endpoints/resend", json={})).json()
    assert created["configured"] is False and created["url"]
    path = created["url"].removeprefix("http://127.0.0.1:8000")
    body = fixture("resend_complained.json", email_id=PROVIDER_ID, email=LEAD)
    response = await anon_client.post(path, content=body, headers=_svix(body))
    assert response.json()["error"]["code"] == "webhook_not_configured"
    assert await _refused(client, "resend") == (1, "webhook_not_configured")
    # Another feed's URL with this token is not this endpoint.
    other = await anon_client.post(path.replace("/resend/", "/postmark/"), content=body)
    assert other.json()["error"]["code"] == "webhook_unknown_endpoint"


async def test_endpoint_settings_are_checked_and_listed(
    client: httpx.AsyncClient, make_user: Any, owner: Account, app: Any
) -> None:
    bad_key = await client.put("/v1/inbound/endpoints/sendgrid-events", json={"public_key": "abc"})
    assert bad_key.status_code == 422
    assert bad_key.json()["error"]["code"] == "inbound_endpoint_invalid"
    wrong_field = await client.put("/v1/inbound/endpoints/resend", json={"password": "x"})
    assert wrong_field.json()["error"]["code"] == "inbound_endpoint_invalid"
    bad_secret = await client.put("/v1/inbound/endpoints/resend", json={"signing_secret": "nope!"})
    assert bad_secret.json()["error"]["code"] == "inbound_endpoint_invalid"
    missing = await client.get("/v1/inbound/endpoints/postmark")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "inbound_endpoint_not_found"

    first = await _endpoint(client, "postmark", username="pm", password="pw-1234567")
    same = (await client.put("/v1/inbound/endpoints/postmark", json={})).json()["url"]
    assert same.endswith(first)
    rotated = await client.put("/v1/inbound/endpoints/postmark", json={"rotate_token": True})
    assert not rotated.json()["url"].endswith(first)
    listed = (await client.get("/v1/inbound/endpoints")).json()
    assert [e["kind"] for e in listed] == [
        "postmark",
        "resend",
        "sendgrid-events",
        "sendgrid-parse",
    ]
    assert listed[0]["configured"] and listed[1]["url"] is None
    assert "password" not in json.dumps(listed)

    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=viewer.headers
    ) as as_viewer:
        assert (await as_viewer.get("/v1/inbound/endpoints")).status_code == 200
        denied = await as_viewer.put("/v1/inbound/endpoints/postmark", json={"username": "x"})
        assert denied.status_code == 403


async def test_a_signed_body_that_is_not_the_providers_shape_is_kept_and_answered_422(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    path = await _endpoint(client, "resend", signing_secret=RESEND_SECRET)
    body = '{"unexpected": true'
    response = await anon_client.post(path, content=body, headers=_svix(body))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "webhook_payload_invalid"
    async with runtime.db.session() as session:
        (item,) = (await session.scalars(select(InboundItem))).all()
        assert item.payload is not None and item.payload["unreadable_body"] == body
        assert item.process_error and item.processed_at is None


async def test_settings_page_shows_the_url_and_refused_count_and_saves_secrets(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    from tests.support.accounts import csrf_of

    created = (await client.put("/v1/inbound/endpoints/resend", json={})).json()
    await anon_client.post(created["url"].removeprefix("http://127.0.0.1:8000"), content=b"{}")
    login = await anon_client.get("/login")
    await anon_client.post(
        "/login",
        data={"email": owner.email, "password": owner.password, "csrf_token": csrf_of(login.text)},
    )
    page = await anon_client.get("/settings/inbound")
    assert page.status_code == 200
    assert created["url"] in page.text and "Refused: <strong>1</strong>" in page.text
    assert "webhook_not_configured" in page.text
    bad = await anon_client.post(
        "/settings/inbound/resend",
        data={"signing_secret": "not-a-secret!", "csrf_token": csrf_of(page.text)},
    )
    assert bad.status_code == 422 and "whsec_" in bad.text
    saved = await anon_client.post(
        "/settings/inbound/resend",
        data={"signing_secret": RESEND_SECRET, "csrf_token": csrf_of(page.text)},
    )
    assert saved.status_code == 303
    assert (await client.get("/v1/inbound/endpoints/resend")).json()["configured"] is True


async def test_process_pending_records_a_stored_webhook_event_once(
    runtime: Runtime, owner: Account
) -> None:
    """An event stored but not processed (its processing failed, or came before a fix) goes
    through the same recording path later, once."""
    from leadflood.inbox import process, store

    enrollment, _ = await _sent(runtime, owner)
    payload = json.loads(fixture("postmark_bounce.json", message_id=PROVIDER_ID, email=LEAD))
    async with runtime.db.session() as session:
        await store.store_payloads(
            session, owner.workspace_id, [("postmark:Bounce:1", payload)], source="postmark"
        )
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 1
    async with runtime.db.session() as session:
        assert await process.process_pending(session) == 0
    assert await _suppressed(runtime, owner) == "bounced"
    assert await _state(runtime, enrollment) == (EnrollmentState.stopped, "bounced")
    assert len(await _inbound(runtime)) == 1


# ---- confirmed deliveries -------------------------------------------------------------------


async def _subscribe_delivered(runtime: Runtime, owner: Account) -> None:
    async with runtime.db.session() as session:
        workspace = await session.get(Workspace, owner.workspace_id)
        actor = CurrentMember(workspace=workspace, role=Role.owner, via="cli")
        await outbound_webhooks.create(
            session,
            actor,
            EndpointCreate(url="https://hooks.example.com/in", events=[events.MESSAGE_DELIVERED]),
        )


async def _delivered(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(WebhookEvent.data).where(WebhookEvent.type == events.MESSAGE_DELIVERED)
        )
        return list(rows.all())


async def _delivered_at(runtime: Runtime, message: Message) -> datetime | None:
    async with runtime.db.session() as session:
        return await session.scalar(select(Message.delivered_at).where(Message.id == message.id))


async def test_a_postmark_delivery_marks_the_message_delivered_and_emits_once(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    enrollment, message = await _sent(runtime, owner)
    await _subscribe_delivered(runtime, owner)
    path = await _endpoint(client, "postmark", username="postmark", password="s3cret-pass")
    body = fixture("postmark_delivery.json", message_id=PROVIDER_ID, email=LEAD)
    assert await _delivered_at(runtime, message) is None

    ok = await anon_client.post(path, content=body, headers=_basic("postmark", "s3cret-pass"))
    assert ok.status_code == 200, ok.text
    assert await _delivered_at(runtime, message) == datetime(2026, 12, 7, 9, 0, 5, 907025, UTC)
    [event] = await _delivered(runtime)
    assert event["message_id"] == str(message.id) and event["to"] == LEAD
    assert event["enrollment_id"] == str(enrollment.id)
    assert event["provider_message_id"] == PROVIDER_ID
    assert event["delivered_at"].startswith("2026-12-07 09:00:05")
    # A delivery is not an inbound message, stops nothing and suppresses nothing.
    assert await _inbound(runtime) == [] and await _suppressed(runtime, owner) is None
    assert (await _state(runtime, enrollment))[0] == EnrollmentState.active
    again = await anon_client.post(path, content=body, headers=_basic("postmark", "s3cret-pass"))
    assert again.json()["duplicates"] == 1 and len(await _delivered(runtime)) == 1

    shown = await client.get(f"/v1/messages/{message.id}")
    assert shown.status_code == 200 and shown.json()["delivered_at"].startswith(
        "2026-12-07T09:00:05"
    )


async def test_resend_and_sendgrid_deliveries_mark_their_messages_delivered(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    _, by_resend = await _sent(runtime, owner)
    await _subscribe_delivered(runtime, owner)
    resend = await _endpoint(client, "resend", signing_secret=RESEND_SECRET)
    body = fixture("resend_delivered.json", email_id=PROVIDER_ID, email=LEAD)
    ok = await anon_client.post(resend, content=body, headers=_svix(body, msg_id="msg_delivered"))
    assert ok.status_code == 200, ok.text
    assert await _delivered_at(runtime, by_resend) == datetime(2026, 12, 7, 9, 0, 5, tzinfo=UTC)

    x_message_id = "Sg_Delivered_Id"
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id, from_email="kim@sender.example")
        lead = await make_lead(session, owner.workspace_id, email="grace@prospect.example")
        by_sendgrid = await queue_message(session, runtime.settings, box, lead)
        by_sendgrid.status = MessageStatus.sent
        by_sendgrid.provider_message_id = x_message_id
    private, public = _keys()
    sendgrid = await _endpoint(client, "sendgrid-events", public_key=public)
    raw = fixture(
        "sendgrid_delivered.json", x_message_id=x_message_id, email="grace@prospect.example"
    ).encode()
    json_type = {"Content-Type": "application/json"}
    ok = await anon_client.post(sendgrid, content=raw, headers=_sendgrid(private, raw, **json_type))
    assert ok.status_code == 200, ok.text
    assert await _delivered_at(runtime, by_sendgrid) == datetime.fromtimestamp(1796634005, UTC)
    assert sorted(e["message_id"] for e in await _delivered(runtime)) == sorted(
        [str(by_resend.id), str(by_sendgrid.id)]
    )


async def test_a_delivery_of_a_message_not_ours_changes_nothing(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    _, message = await _sent(runtime, owner)
    await _subscribe_delivered(runtime, owner)
    path = await _endpoint(client, "postmark", username="postmark", password="s3cret-pass")
    body = fixture("postmark_delivery.json", message_id="someone-elses-id", email=LEAD)
    ok = await anon_client.post(path, content=body, headers=_basic("postmark", "s3cret-pass"))
    assert ok.status_code == 200
    assert await _delivered_at(runtime, message) is None and await _delivered(runtime) == []


async def _unconfirmed(runtime: Runtime, owner: Account, email: str) -> Message:
    """A message whose worker died during its attempt: nobody knows whether it left."""
    async with runtime.db.session() as session:
        box = await make_mailbox(session, owner.workspace_id)
        lead = await make_lead(session, owner.workspace_id, email=email)
        message = await queue_message(session, runtime.settings, box, lead)
        message.status, message.attempts = MessageStatus.unconfirmed, 1
        message.sending_started_at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    return message


async def test_a_delivery_report_naming_an_unconfirmed_message_settles_it_as_sent(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    """Postmark and SendGrid give back the metadata a message was sent with: a delivery report
    for a message whose worker died before it learnt the provider's id names it by ours."""
    by_postmark = await _unconfirmed(runtime, owner, LEAD)
    by_sendgrid = await _unconfirmed(runtime, owner, "grace@prospect.example")
    await _subscribe_delivered(runtime, owner)
    postmark = await _endpoint(client, "postmark", username="postmark", password="s3cret-pass")
    report = json.loads(fixture("postmark_delivery.json", message_id=PROVIDER_ID, email=LEAD))
    report["Metadata"] = {"message": str(by_postmark.id)}
    ok = await anon_client.post(
        postmark, content=json.dumps(report), headers=_basic("postmark", "s3cret-pass")
    )
    assert ok.status_code == 200, ok.text

    private, public = _keys()
    sendgrid = await _endpoint(client, "sendgrid-events", public_key=public)
    (event,) = json.loads(
        fixture("sendgrid_delivered.json", x_message_id="Sg_Id", email="grace@prospect.example")
    )
    event["message"] = str(by_sendgrid.id)  # custom_args arrive flattened into the event
    raw = json.dumps([event]).encode()
    json_type = {"Content-Type": "application/json"}
    ok = await anon_client.post(sendgrid, content=raw, headers=_sendgrid(private, raw, **json_type))
    assert ok.status_code == 200, ok.text

    async with runtime.db.session() as session:
        for message, provider_id in (
            (by_postmark, PROVIDER_ID),
            (by_sendgrid, "Sg_Id"),
        ):
            row = await session.get(Message, message.id)
            assert row is not None and row.status == MessageStatus.sent
            assert row.sent_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
            assert row.provider_message_id == provider_id and row.delivered_at is not None
            shown = (await client.get(f"/v1/messages/{message.id}")).json()
            assert shown["status"] == "sent"
    assert sorted(e["message_id"] for e in await _delivered(runtime)) == sorted(
        [str(by_postmark.id), str(by_sendgrid.id)]
    )


async def test_a_delivery_report_does_not_touch_a_message_a_person_queued_again(
    runtime: Runtime, owner: Account, client: httpx.AsyncClient, anon_client: httpx.AsyncClient
) -> None:
    message = await _unconfirmed(runtime, owner, LEAD)
    requeued = await client.post(f"/v1/messages/{message.id}/requeue")
    assert requeued.status_code == 200
    path = await _endpoint(client, "postmark", username="postmark", password="s3cret-pass")
    report = json.loads(fixture("postmark_delivery.json", message_id=PROVIDER_ID, email=LEAD))
    report["Metadata"] = {"message": str(message.id)}
    ok = await anon_client.post(
        path, content=json.dumps(report), headers=_basic("postmark", "s3cret-pass")
    )
    assert ok.status_code == 200
    shown = (await client.get(f"/v1/messages/{message.id}")).json()
    assert shown["status"] == "queued" and shown["delivered_at"] is None
