"""Outbound webhook endpoints of a workspace: create (with a secret shown once), change,
delete, list; their deliveries; a manual redelivery; a test ping. Every change is audited."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events
from leadflood.auth import audit, credentials
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, scoped
from leadflood.models import (
    CredentialKind,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflood.pagination import Window, newest_first, page_of
from leadflood.settings import IPNetwork
from leadflood.webhooks import signing
from leadflood.webhooks.errors import (
    DeliveryNotFound,
    EndpointDisabled,
    EndpointNotFound,
    EventTypeUnknown,
    UrlInvalid,
)
from leadflood.webhooks.schemas import EndpointCreate, EndpointUpdate

SECRET_PROVIDER = "webhook"


def check_url(url: str, allowed: Sequence[IPNetwork] = ()) -> str:
    """http(s), a host, and not a loopback, private, link-local or reserved address (the
    worker would otherwise POST into the network it runs in) unless in an `allowed` network
    (WEBHOOK_ALLOWED_NETWORKS)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise UrlInvalid(details={"field": "url"})
    if (host == "localhost" or host.endswith(".localhost")) and not allowed:
        raise UrlInvalid(details={"field": "url", "host": host})
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url.strip()  # a name: the worker's client checks what it resolves to
    if not address.is_global and not any(address in network for network in allowed):
        raise UrlInvalid(details={"field": "url", "host": host})
    return url.strip()


def check_events(names: list[str]) -> list[str]:
    unknown = sorted(set(names) - set(events.EVENT_TYPES))
    if unknown:
        raise EventTypeUnknown(
            details={"field": "events", "unknown": unknown, "allowed": list(events.EVENT_TYPES)}
        )
    return sorted(set(names))


async def create(
    session: AsyncSession,
    actor: CurrentMember,
    data: EndpointCreate,
    allowed: Sequence[IPNetwork] = (),
) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its secret (`whsec_…`), which only this answer shows. `allowed`:
    the non-public networks an operator allows (Settings.webhook_networks)."""
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        workspace_id=actor.workspace_id,
        url=check_url(data.url, allowed),
        events=check_events(data.events),
        description=data.description or None,
    )
    secret = signing.new_secret()
    endpoint.secret_id = await _store_secret(session, endpoint, secret)
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    await audit.record(
        session, "webhook.created", actor=actor, target_type="webhook_endpoint",
        target_id=endpoint.id, details={"url": endpoint.url, "events": endpoint.events},
    )  # fmt: skip
    return endpoint, secret


async def _store_secret(session: AsyncSession, endpoint: WebhookEndpoint, secret: str) -> uuid.UUID:
    return await credentials.store(
        session, endpoint.workspace_id, provider=SECRET_PROVIDER,
        kind=CredentialKind.webhook_secret, secret=secret, credential_id=endpoint.secret_id,
    )  # fmt: skip


async def secret_of(session: AsyncSession, endpoint: WebhookEndpoint) -> str | None:
    return await credentials.reveal(session, endpoint.secret_id)


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    return await get_scoped(
        session, WebhookEndpoint, workspace_id, endpoint_id, error=EndpointNotFound,
        for_update=lock,
    )  # fmt: skip


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[WebhookEndpoint]:
    query = scoped(WebhookEndpoint, workspace_id).order_by(
        WebhookEndpoint.created_at, WebhookEndpoint.id
    )
    return list((await session.scalars(query)).all())


async def update_endpoint(
    session: AsyncSession,
    actor: CurrentMember,
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    allowed: Sequence[IPNetwork] = (),
) -> tuple[WebhookEndpoint, str | None]:
    """The endpoint, and its new secret when `rotate_secret` asked for one."""
    endpoint = await get(session, actor.workspace_id, endpoint_id, lock=True)
    changes: dict[str, Any] = {}
    if data.url is not None:
        endpoint.url = changes["url"] = check_url(data.url, allowed)
    if data.events is not None:
        endpoint.events = changes["events"] = check_events(data.events)
    if "description" in data.model_fields_set:
        endpoint.description = changes["description"] = data.description or None
    if data.enabled is not None and data.enabled != endpoint.enabled:
        endpoint.enabled = changes["enabled"] = data.enabled
        if data.enabled:
            endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
        else:
            endpoint.disabled_reason = "Disabled by hand."
            endpoint.disabled_at = datetime.now(UTC)
            await _fail_pending(session, endpoint, "the endpoint was disabled")
    secret = None
    if data.rotate_secret:
        secret = signing.new_secret()
        endpoint.secret_id = await _store_secret(session, endpoint, secret)
        changes["secret"] = "rotated"
    await session.flush()
    await session.refresh(endpoint)
    await audit.record(
        session, "webhook.updated", actor=actor, target_type="webhook_endpoint",
        target_id=endpoint.id, details=changes,
    )  # fmt: skip
    return endpoint, secret


async def delete(session: AsyncSession, actor: CurrentMember, endpoint_id: uuid.UUID) -> None:
    endpoint = await get(session, actor.workspace_id, endpoint_id, lock=True)
    secret_id = endpoint.secret_id
    await session.delete(endpoint)
    await session.flush()
    await credentials.forget(session, secret_id)
    await audit.record(
        session, "webhook.deleted", actor=actor, target_type="webhook_endpoint",
        target_id=endpoint_id, details={"url": endpoint.url},
    )  # fmt: skip


async def _fail_pending(session: AsyncSession, endpoint: WebhookEndpoint, why: str) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.state == DeliveryState.pending,
        )
        .values(state=DeliveryState.failed, next_attempt_at=None, last_error=why)
    )


async def deliveries(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    limit: int = 50,
    cursor: str | None = None,
    state: str | None = None,
) -> Window[WebhookDelivery]:
    await get(session, workspace_id, endpoint_id)
    query = scoped(WebhookDelivery, workspace_id).where(WebhookDelivery.endpoint_id == endpoint_id)
    if state:
        query = query.where(WebhookDelivery.state == state)
    query = newest_first(
        query, WebhookDelivery.created_at, WebhookDelivery.id, cursor=cursor, limit=limit
    )
    return page_of(list((await session.scalars(query)).all()), limit, cursor)


async def attempts_of(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    found: dict[uuid.UUID, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
        for row in rows:
            found[row.delivery_id].append(row)
    return found


async def redeliver(
    session: AsyncSession, actor: CurrentMember, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """A new delivery of the same message (same body and `webhook-id`, so a receiver that
    already has it can tell), due now, with its own attempts."""
    endpoint = await get(session, actor.workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled()
    original = await session.scalar(
        scoped(WebhookDelivery, actor.workspace_id).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    if original is None:
        raise DeliveryNotFound()
    copy = _delivery(endpoint, original.event_type, original.body, original.message_id)
    copy.event_id = original.event_id
    session.add(copy)
    await session.flush()
    await session.refresh(copy)
    await audit.record(
        session, "webhook.redelivered", actor=actor, target_type="webhook_delivery",
        target_id=original.id, details={"endpoint_id": str(endpoint_id), "new": str(copy.id)},
    )  # fmt: skip
    return copy


async def ping(
    session: AsyncSession, actor: CurrentMember, endpoint_id: uuid.UUID
) -> WebhookDelivery:
    """A `webhook.ping` delivery to the endpoint, due now."""
    endpoint = await get(session, actor.workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled()
    message_id = new_message_id()
    body = payload(events.PING, {"endpoint_id": str(endpoint.id)}, datetime.now(UTC))
    delivery = _delivery(endpoint, events.PING, body, message_id)
    session.add(delivery)
    await session.flush()
    await session.refresh(delivery)
    return delivery


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def payload(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The body of every delivery, per Standard Webhooks: type, timestamp, data."""
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": data},
        separators=(",", ":"),
        default=str,
    )


def _delivery(
    endpoint: WebhookEndpoint, event_type: str, body: str, message_id: str
) -> WebhookDelivery:
    return WebhookDelivery(
        id=uuid.uuid4(),
        workspace_id=endpoint.workspace_id,
        endpoint_id=endpoint.id,
        message_id=message_id,
        event_type=event_type,
        body=body,
        state=DeliveryState.pending,
        attempts=0,
        next_attempt_at=datetime.now(UTC),
    )
