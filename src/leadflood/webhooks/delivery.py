"""At-least-once delivery: `dispatch` fans the outbox (`webhook_events`) out to the subscribed
endpoints as deliveries; `send_due` POSTs the deliveries that are due, records each attempt
and schedules the next one (backoff over ~24 h); an endpoint with no success for a day whose
delivery has used every attempt is disabled, and its owner told (audit event, page banner)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.logging import get_logger
from leadflood.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from leadflood.webhooks import notice, service, signing

log = get_logger("leadflood.webhooks")

# The waits after attempt 1, 2, ...: 8 attempts over ~24.6 h (Standard Webhooks' own schedule
# is of this shape). A 2xx ends a delivery; anything else, a timeout or a redirect is retried.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=9),
)
DISABLE_AFTER = timedelta(hours=24)
EXCERPT = 1000


async def dispatch(session: AsyncSession, *, limit: int = 500) -> int:
    """Turn undispatched events into deliveries for the endpoints enabled and subscribed now;
    how many events were handled. Concurrent dispatchers skip each other's rows."""
    rows = list(
        (
            await session.scalars(
                select(WebhookEvent)
                .where(WebhookEvent.dispatched_at.is_(None))
                .order_by(WebhookEvent.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if not rows:
        return 0
    workspaces = {row.workspace_id for row in rows}
    endpoints = list(
        (
            await session.scalars(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.workspace_id.in_(workspaces), WebhookEndpoint.enabled
                )
            )
        ).all()
    )
    now = datetime.now(UTC)
    for event in rows:
        body = service.payload(event.type, event.data, event.created_at)
        for endpoint in endpoints:
            if endpoint.workspace_id == event.workspace_id and event.type in endpoint.events:
                delivery = service._delivery(endpoint, event.type, body, service.new_message_id())
                delivery.event_id = event.id
                session.add(delivery)
        event.dispatched_at = now
    await session.flush()
    return len(rows)


@dataclass
class _Outcome:
    status_code: int | None
    excerpt: str | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _post(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], body: str
) -> _Outcome:
    started = time.monotonic()
    try:
        response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        took = int((time.monotonic() - started) * 1000)
        return _Outcome(None, None, took, f"{exc.__class__.__name__}: {exc}"[:EXCERPT])
    took = int((time.monotonic() - started) * 1000)
    error = None
    if response.is_redirect:
        error = "redirects are not followed"
    return _Outcome(response.status_code, response.text[:EXCERPT], took, error)


async def send_due(
    session: AsyncSession,
    client: httpx.AsyncClient,
    *,
    limit: int = 50,
    now: datetime | None = None,
) -> int:
    """POST every due delivery (up to `limit`, in parallel), record the attempts; how many
    were attempted. The rows stay locked (SKIP LOCKED for other workers) until commit."""
    now = now or datetime.now(UTC)
    due = list(
        (
            await session.execute(
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(
                    WebhookDelivery.state == DeliveryState.pending,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
                .with_for_update(of=WebhookDelivery, skip_locked=True)
            )
        ).all()
    )
    if not due:
        return 0
    requests = []
    for delivery, endpoint in due:
        secret = await service.secret_of(session, endpoint)
        stamp = int(now.timestamp())
        if endpoint.enabled and secret:
            sent = signing.headers(secret, delivery.message_id, stamp, delivery.body)
            requests.append(_post(client, endpoint.url, sent, delivery.body))
        else:
            requests.append(_skipped(endpoint))
    outcomes = await asyncio.gather(*requests)
    for (delivery, endpoint), outcome in zip(due, outcomes, strict=True):
        await _record(session, delivery, endpoint, outcome, now)
    await session.flush()
    return len(due)


async def _skipped(endpoint: WebhookEndpoint) -> _Outcome:
    why = "the endpoint is disabled" if not endpoint.enabled else "the endpoint has no secret"
    return _Outcome(None, None, 0, why)


async def _record(
    session: AsyncSession,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    outcome: _Outcome,
    now: datetime,
) -> None:
    session.add(
        WebhookAttempt(
            workspace_id=delivery.workspace_id,
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.state = DeliveryState.succeeded
        delivery.next_attempt_at = None
        endpoint.last_success_at = now
        endpoint.failing_since = None
        return
    if endpoint.enabled and endpoint.failing_since is None:
        endpoint.failing_since = now
    if endpoint.enabled and delivery.attempts <= len(RETRY_DELAYS):
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
        return
    delivery.state = DeliveryState.failed
    delivery.next_attempt_at = None
    since = endpoint.failing_since
    if endpoint.enabled and since is not None and now - since >= DISABLE_AFTER:
        await disable(session, endpoint, now)


async def disable(session: AsyncSession, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Persistent failure: stop sending to the endpoint, fail what waits for it, and tell the
    workspace: an audit event, the Webhooks page's banner until it is re-enabled, and an email
    to its owners when the instance has a system mailbox."""
    since = endpoint.failing_since
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = (
        f"Disabled automatically: every delivery failed since {since:%Y-%m-%d %H:%M} UTC."
        if since
        else "Disabled automatically after persistent failure."
    )
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.state == DeliveryState.pending,
        )
        .values(state=DeliveryState.failed, next_attempt_at=None, last_error="endpoint disabled")
    )
    emailed = await notice.tell_owners_disabled(
        session, endpoint.workspace_id, endpoint.url, endpoint.disabled_reason
    )
    await audit.record(
        session, "webhook.disabled", workspace_id=endpoint.workspace_id, label="system",
        target_type="webhook_endpoint", target_id=endpoint.id,
        details={"url": endpoint.url, "failing_since": since.isoformat() if since else None,
                 "reason": endpoint.disabled_reason, "owners_emailed": emailed},
    )  # fmt: skip
    log.warning("webhook.disabled", endpoint_id=str(endpoint.id), url=endpoint.url)
