"""Delivery of outbound webhooks against a receiver behind httpx.MockTransport: the signature
checks out with the Standard Webhooks algorithm, failures are retried on the schedule, an
endpoint that fails for a day is disabled, a rolled-back change sends nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadflood import events
from leadflood.auth.principal import CurrentMember
from leadflood.models import (
    AuditEvent,
    Role,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    Workspace,
)
from leadflood.providers.http import build_webhook_client
from leadflood.runtime import Runtime
from leadflood.webhooks import delivery, notice, service
from leadflood.webhooks.errors import EndpointDisabled, EventTypeUnknown, UrlInvalid
from leadflood.webhooks.schemas import EndpointCreate
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer


class Receiver:
    """Answers with the queued status codes (then 200), keeping every request."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        code = self.codes.pop(0) if self.codes else 200
        return httpx.Response(code, text=f"answer {code}")

    def client(self) -> httpx.AsyncClient:
        return build_webhook_client(httpx.MockTransport(self))


async def _member(session: Any, owner: Account) -> CurrentMember:
    workspace = await session.get(Workspace, owner.workspace_id)
    return CurrentMember(workspace=workspace, role=Role.owner, via="cli")


async def _endpoint(runtime: Runtime, owner: Account, *types: str) -> tuple[uuid.UUID, str]:
    async with runtime.db.session() as session:
        endpoint, secret = await service.create(
            session,
            await _member(session, owner),
            EndpointCreate(url="https://hooks.example.com/in", events=list(types)),
        )
        return endpoint.id, secret


def verify(secret: str, request: httpx.Request) -> bool:
    """The receiver's side, written from the specification, not from our code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
        + request.content
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", sig)
        for sig in request.headers["webhook-signature"].split(" ")
    )


async def test_an_event_is_delivered_signed_per_standard_webhooks(
    runtime: Runtime, owner: Account
) -> None:
    endpoint_id, secret = await _endpoint(runtime, owner, events.LEAD_CREATED)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.LEAD_CREATED, {"id": "L1"})
        # not subscribed: no row at all
        await events.emit(session, owner.workspace_id, events.IMPORT_FINISHED, {"id": "I1"})
    receiver = Receiver()
    async with receiver.client() as client:
        async with runtime.db.session() as session:
            assert await delivery.dispatch(session) == 1
        async with runtime.db.session() as session:
            assert await delivery.send_due(session, client) == 1
    [request] = receiver.requests
    assert str(request.url) == "https://hooks.example.com/in"
    assert verify(secret, request)
    assert not verify(secret.replace(secret[10], "A" if secret[10] != "A" else "B"), request)
    body = json.loads(request.content)
    assert body["type"] == "lead.created" and body["data"] == {"id": "L1"}
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    async with runtime.db.session() as session:
        row = await session.scalar(select(WebhookDelivery))
        assert row is not None and row.state == "succeeded" and row.last_status_code == 200
        assert row.endpoint_id == endpoint_id


async def test_nothing_is_sent_for_a_rolled_back_change(runtime: Runtime, owner: Account) -> None:
    await _endpoint(runtime, owner, events.LEAD_CREATED)
    with pytest.raises(RuntimeError):
        async with runtime.db.session() as session:
            await events.emit(session, owner.workspace_id, events.LEAD_CREATED, {"id": "L1"})
            raise RuntimeError("the change failed")
    receiver = Receiver()
    async with receiver.client() as client, runtime.db.session() as session:
        assert await delivery.dispatch(session) == 0
        assert await delivery.send_due(session, client) == 0
    assert receiver.requests == []


async def test_a_failure_is_retried_with_backoff_then_succeeds(
    runtime: Runtime, owner: Account
) -> None:
    await _endpoint(runtime, owner, events.MESSAGE_SENT)
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.MESSAGE_SENT, {"id": "M1"})
        await delivery.dispatch(session)
    receiver = Receiver(500, 503)
    now = datetime.now(UTC)
    async with receiver.client() as client:
        async with runtime.db.session() as session:
            assert await delivery.send_due(session, client, now=now) == 1
        async with runtime.db.session() as session:  # not due yet
            assert await delivery.send_due(session, client, now=now + timedelta(seconds=4)) == 0
        async with runtime.db.session() as session:
            row = await session.scalar(select(WebhookDelivery))
            assert row is not None and row.state == "pending" and row.attempts == 1
            assert row.next_attempt_at == now + timedelta(seconds=5)
        later = now + timedelta(seconds=5)
        async with runtime.db.session() as session:
            assert await delivery.send_due(session, client, now=later) == 1
        async with runtime.db.session() as session:
            row = await session.scalar(select(WebhookDelivery))
            assert row is not None and row.next_attempt_at == later + timedelta(minutes=5)
        async with runtime.db.session() as session:
            assert await delivery.send_due(session, client, now=later + timedelta(minutes=5)) == 1
    assert len(receiver.requests) == 3
    # the same message every time: same id and body, so the receiver can deduplicate
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.content for r in receiver.requests}) == 1
    async with runtime.db.session() as session:
        row = await session.scalar(select(WebhookDelivery))
        assert row is not None and row.state == "succeeded" and row.attempts == 3
        codes = (
            await session.scalars(
                select(WebhookAttempt.status_code).order_by(WebhookAttempt.attempted_at)
            )
        ).all()
        assert codes == [500, 503, 200]
        excerpt = await session.scalar(
            select(WebhookAttempt.response_excerpt).where(WebhookAttempt.status_code == 500)
        )
        assert excerpt == "answer 500"
        endpoint = await session.scalar(select(WebhookEndpoint))
        assert endpoint is not None and endpoint.failing_since is None
        assert endpoint.last_success_at is not None


async def test_an_endpoint_failing_for_a_day_is_disabled_and_the_owner_told(
    runtime: Runtime, owner: Account
) -> None:
    await _endpoint(runtime, owner, events.LEAD_UPDATED)
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.LEAD_UPDATED, {"id": "L1"})
        await events.emit(session, owner.workspace_id, events.LEAD_UPDATED, {"id": "L2"})
        await delivery.dispatch(session)
    receiver = Receiver(*([500] * 100))
    at = datetime.now(UTC)
    async with receiver.client() as client:
        for wait in (timedelta(0), *delivery.RETRY_DELAYS):
            at += wait
            async with runtime.db.session() as session:
                await delivery.send_due(session, client, now=at)
    assert len(receiver.requests) == 2 * (len(delivery.RETRY_DELAYS) + 1)
    async with runtime.db.session() as session:
        endpoint = await session.scalar(select(WebhookEndpoint))
        assert endpoint is not None and not endpoint.enabled
        assert endpoint.disabled_reason and "automatically" in endpoint.disabled_reason
        states = (await session.scalars(select(WebhookDelivery.state))).all()
        assert states == ["failed", "failed"]
        told = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "webhook.disabled")
        )
        assert told is not None and told.workspace_id == owner.workspace_id
        # No system mailbox in this instance: the email is skipped, the audit entry says so.
        assert told.details["reason"] == endpoint.disabled_reason
        assert told.details["owners_emailed"] == []
        # a disabled endpoint gets no new events
        await events.emit(session, owner.workspace_id, events.LEAD_UPDATED, {"id": "L3"})
        assert await session.scalar(select(func.count()).select_from(WebhookEvent)) == 2


async def test_a_day_of_failures_with_a_success_between_does_not_disable(
    runtime: Runtime, owner: Account
) -> None:
    await _endpoint(runtime, owner, events.LEAD_UPDATED)
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.LEAD_UPDATED, {"id": "L1"})
        await delivery.dispatch(session)
    at = datetime.now(UTC)
    receiver = Receiver(*([500] * 100))
    async with receiver.client() as client:
        for i, wait in enumerate((timedelta(0), *delivery.RETRY_DELAYS)):
            at += wait
            if i == 5:  # another event succeeds in between
                receiver.codes.insert(1, 200)
                async with runtime.db.session() as session:
                    await events.emit(session, owner.workspace_id, events.LEAD_UPDATED, {"i": 2})
                    await delivery.dispatch(session)
                    await session.execute(
                        WebhookDelivery.__table__.update()
                        .where(WebhookDelivery.attempts == 0)
                        .values(next_attempt_at=at)
                    )
            async with runtime.db.session() as session:
                await delivery.send_due(session, client, now=at)
    async with runtime.db.session() as session:
        endpoint = await session.scalar(select(WebhookEndpoint))
        assert endpoint is not None and endpoint.enabled


async def test_redelivery_sends_the_same_message_again(runtime: Runtime, owner: Account) -> None:
    endpoint_id, secret = await _endpoint(runtime, owner, events.REPLY_RECEIVED)
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.REPLY_RECEIVED, {"id": "T1"})
        await delivery.dispatch(session)
    receiver = Receiver()
    async with receiver.client() as client:
        async with runtime.db.session() as session:
            await delivery.send_due(session, client)
        async with runtime.db.session() as session:
            first = await session.scalar(select(WebhookDelivery))
            assert first is not None
            again = await service.redeliver(
                session, await _member(session, owner), endpoint_id, first.id
            )
            assert again.id != first.id and again.state == "pending"
        async with runtime.db.session() as session:
            assert await delivery.send_due(session, client) == 1
    one, two = receiver.requests
    assert one.headers["webhook-id"] == two.headers["webhook-id"]
    assert one.content == two.content and verify(secret, two)


async def test_a_ping_and_refusals(runtime: Runtime, owner: Account) -> None:
    endpoint_id, secret = await _endpoint(runtime, owner, events.IMPORT_FINISHED)
    async with runtime.db.session() as session:
        member = await _member(session, owner)
        await service.ping(session, member, endpoint_id)
        for url, types, error in (
            ("http://127.0.0.1/x", ["lead.created"], UrlInvalid),
            ("http://10.1.2.3/x", ["lead.created"], UrlInvalid),
            ("ftp://example.com", ["lead.created"], UrlInvalid),
            ("https://example.com", ["lead.eaten"], EventTypeUnknown),
        ):
            with pytest.raises(error):
                await service.create(session, member, EndpointCreate(url=url, events=types))
    receiver = Receiver()
    async with receiver.client() as client, runtime.db.session() as session:
        await delivery.send_due(session, client)
    [request] = receiver.requests
    assert json.loads(request.content)["type"] == "webhook.ping" and verify(secret, request)
    async with runtime.db.session() as session:
        member = await _member(session, owner)
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.enabled = False
        await session.flush()
        with pytest.raises(EndpointDisabled):
            await service.ping(session, member, endpoint_id)


async def test_the_hourly_clean_up_forgets_finished_history_after_30_days(
    runtime: Runtime, owner: Account
) -> None:
    from leadflood.system import service as system

    await _endpoint(runtime, owner, events.LEAD_CREATED)
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.LEAD_CREATED, {"id": "L1"})
        await events.emit(session, owner.workspace_id, events.LEAD_CREATED, {"id": "L2"})
        await delivery.dispatch(session)
    receiver = Receiver(200, 500)
    async with receiver.client() as client, runtime.db.session() as session:
        await delivery.send_due(session, client)
    later = datetime.now(UTC) + timedelta(days=31)
    async with runtime.db.session() as session:
        counts = await system.clean_up(session, now=later)
    assert counts["webhook_deliveries"] == 1
    async with runtime.db.session() as session:
        [left] = (await session.scalars(select(WebhookDelivery))).all()
        assert left.state == "pending"  # still being retried: kept
        assert await session.scalar(select(func.count()).select_from(WebhookAttempt)) == 1
        # the events are gone once fanned out; the pending delivery keeps its own body
        assert await session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


async def test_the_worker_fans_out_and_delivers(runtime: Runtime, owner: Account) -> None:
    from leadflood import jobs
    from leadflood.providers.registry import ProviderRegistry
    from tests.support.jobs import drain

    _, secret = await _endpoint(runtime, owner, events.IMPORT_FINISHED)
    receiver = Receiver()
    runtime.providers = ProviderRegistry(runtime.settings, transport=httpx.MockTransport(receiver))
    async with runtime.db.session() as session:
        await events.emit(session, owner.workspace_id, events.IMPORT_FINISHED, {"id": "I1"})
        await jobs.defer(session, "webhooks.deliver", timestamp=0)
    await drain(runtime)
    [request] = receiver.requests
    assert json.loads(request.content)["data"] == {"id": "I1"} and verify(secret, request)


async def test_the_owners_are_emailed_through_the_system_mailbox_when_one_exists(
    runtime: Runtime, owner: Account, smtp: SmtpTestServer
) -> None:
    # SYSTEM_SMTP_URL comes with the system mailbox; a relay without TLS on 127.0.0.1 here.
    url = f"smtp+plain://127.0.0.1:{smtp.port}"
    settings = runtime.settings.model_copy(
        update={"system_smtp_url": url, "system_mail_from": "ops@leadflood.test"}
    )
    subject = "A webhook endpoint was disabled"
    async with runtime.db.sessions() as session:
        told = await notice.tell_owners(session, settings, owner.workspace_id, subject, "Look.")
        (mail,) = smtp.messages
        assert told == [owner.email] and mail.rcpt_tos == [owner.email]
        assert mail.message["Subject"] == subject
        assert not await notice.tell_owners(session, runtime.settings, owner.workspace_id, "x", "y")
    assert len(smtp.messages) == 1
    async with runtime.db.sessions() as session:
        assert await notice.owner_addresses(session, owner.workspace_id) == [owner.email]
