"""Provider webhooks into the inbox: each workspace's endpoints (one per provider feed, at
`/v1/inbound/{kind}/{token}`), their verification settings, and receiving a request:

1. find the endpoint by its URL's token and check the request the provider's way
   (`providers.inbound.signatures`); a refused request answers 401 with its reason's code and
   is counted (on the endpoint, and in /metrics);
2. store the body raw first, one payload item per event under the provider's event id
   (`store.store_payloads`): the same webhook twice is stored once;
3. process each new item through the inbox's one recording path (`process.process_item`):
   an email it carries is understood like any mail, a delivery event brings its own
   classification; effects apply in the same transaction. An item whose processing fails is
   kept, marked with its error for `process_pending`, and the request still succeeds."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit, credentials
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import scoped
from leadflood.inbox import events, process, store
from leadflood.inbox import webhook_errors as errors
from leadflood.inbox.webhook_schemas import EndpointRead, EndpointUpdate, WebhookReceipt
from leadflood.logging import get_logger
from leadflood.models import CredentialKind, InboundEndpoint, InboundItem
from leadflood.providers.inbound import signatures

log = get_logger("leadflood.inbox")

# /metrics: webhook requests by feed, workspace ("unknown" for a URL that names no endpoint)
# and result ("accepted" or the refusal's code).
WEBHOOKS = Counter(
    "leadflood_inbound_webhooks_total",
    "Provider webhook requests, accepted or refused",
    ["kind", "workspace", "result"],
)


@dataclass(frozen=True)
class Feed:
    provider: str
    description: str
    auth: str


FEEDS: dict[str, Feed] = {
    "postmark": Feed(
        "Postmark",
        "Inbound email, bounces, spam complaints and unsubscribes: one URL for every webhook "
        "of the server, with HTTP basic auth set on each.",
        "basic",
    ),
    "resend": Feed(
        "Resend",
        "Received email (email.received) and delivery events (bounced, complained, "
        "delivery_delayed, suppressed, failed), signed by Svix with the webhook's secret.",
        "svix",
    ),
    "sendgrid-events": Feed(
        "SendGrid Event Webhook",
        "Bounces, drops, deferrals, spam reports and unsubscribes, signed with ECDSA: turn on "
        "the signed Event Webhook and paste its verification key.",
        "ecdsa",
    ),
    "sendgrid-parse": Feed(
        "SendGrid Inbound Parse",
        "Received email (raw or parsed fields), signed with ECDSA under a Parse security "
        "policy: paste the policy's public key.",
        "ecdsa",
    ),
}
_REASONS: dict[str, type[errors.WebhookRefused]] = {
    "missing": errors.Unsigned,
    "invalid": errors.SignatureInvalid,
    "stale": errors.SignatureStale,
}


def url_of(public_url: str, endpoint: InboundEndpoint) -> str:
    return f"{public_url.rstrip('/')}/v1/inbound/{endpoint.kind}/{endpoint.token}"


def _feed(kind: str) -> Feed:
    feed = FEEDS.get(kind)
    if feed is None:
        raise errors.EndpointNotFound(details={"kind": kind, "allowed": list(FEEDS)})
    return feed


async def find(
    session: AsyncSession, workspace_id: uuid.UUID, kind: str, *, for_update: bool = False
) -> InboundEndpoint | None:
    _feed(kind)
    query = scoped(InboundEndpoint, workspace_id).where(InboundEndpoint.kind == kind)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


def read(endpoint: InboundEndpoint | None, kind: str, public_url: str) -> EndpointRead:
    feed = _feed(kind)
    return EndpointRead.model_validate(
        {
            "kind": kind, "provider": feed.provider, "description": feed.description,
            "auth": feed.auth,
            "url": url_of(public_url, endpoint) if endpoint else None,
            "configured": bool(endpoint and endpoint.secret_id
                               and (feed.auth != "basic" or endpoint.username)),
            "username": endpoint.username if endpoint else None,
            "received_count": endpoint.received_count if endpoint else 0,
            "refused_count": endpoint.refused_count if endpoint else 0,
            "last_received_at": endpoint.last_received_at if endpoint else None,
            "last_refused_at": endpoint.last_refused_at if endpoint else None,
            "last_refused_code": endpoint.last_refused_code if endpoint else None,
        }
    )  # fmt: skip


async def list_all(
    session: AsyncSession, workspace_id: uuid.UUID, public_url: str
) -> list[EndpointRead]:
    """Every feed, created or not (a feed not created yet has no URL)."""
    rows = await session.scalars(scoped(InboundEndpoint, workspace_id))
    by_kind = {row.kind: row for row in rows}
    return [read(by_kind.get(kind), kind, public_url) for kind in FEEDS]


async def get(
    session: AsyncSession, workspace_id: uuid.UUID, kind: str, public_url: str
) -> EndpointRead:
    endpoint = await find(session, workspace_id, kind)
    if endpoint is None:
        raise errors.EndpointNotFound()
    return read(endpoint, kind, public_url)


async def configure(
    session: AsyncSession, actor: CurrentMember, kind: str, data: EndpointUpdate
) -> InboundEndpoint:
    """Create the endpoint (with a new unguessable token) or change its verification."""
    feed = _feed(kind)
    wrong = [
        name
        for name, allowed in (
            ("username", feed.auth == "basic"),
            ("password", feed.auth == "basic"),
            ("signing_secret", feed.auth == "svix"),
            ("public_key", feed.auth == "ecdsa"),
        )
        if getattr(data, name) is not None and not allowed
    ]
    if wrong:
        raise errors.EndpointInvalid(
            f"{feed.provider} does not use {', '.join(wrong)}.",
            details={"field": wrong[0], "auth": feed.auth},
        )
    secret = {"basic": data.password, "svix": data.signing_secret, "ecdsa": data.public_key}[
        feed.auth
    ]
    _check_secret(feed.auth, secret)
    endpoint = await find(session, actor.workspace_id, kind, for_update=True)
    created = endpoint is None
    if endpoint is None:
        endpoint = InboundEndpoint(
            id=uuid.uuid4(), workspace_id=actor.workspace_id, kind=kind, token=_token(),
            received_count=0, refused_count=0,
        )  # fmt: skip
        session.add(endpoint)
        await session.flush()
    elif data.rotate_token:
        endpoint.token = _token()
    if data.username is not None:
        endpoint.username = data.username or None
    if secret is not None:
        if secret:
            endpoint.secret_id = await credentials.store(
                session, actor.workspace_id, provider=kind, kind=CredentialKind.webhook_secret,
                secret=secret.strip(), credential_id=endpoint.secret_id,
            )  # fmt: skip
        else:
            await credentials.forget(session, endpoint.secret_id)
            endpoint.secret_id = None
    await session.flush()
    await session.refresh(endpoint)
    changed = sorted(k for k, v in data.model_dump(exclude_unset=True).items() if k != "password")
    await audit.record(
        session, "inbound_endpoint.created" if created else "inbound_endpoint.updated",
        actor=actor, target_type="inbound_endpoint", target_id=kind,
        details={"changed": changed, "secret_changed": secret is not None},
    )  # fmt: skip
    return endpoint


async def delete(session: AsyncSession, actor: CurrentMember, kind: str) -> None:
    """Remove the endpoint: its URL is refused from now on. What it received stays."""
    endpoint = await find(session, actor.workspace_id, kind, for_update=True)
    if endpoint is None:
        raise errors.EndpointNotFound()
    await credentials.forget(session, endpoint.secret_id)
    await session.delete(endpoint)
    await session.flush()
    await audit.record(
        session, "inbound_endpoint.deleted", actor=actor, target_type="inbound_endpoint",
        target_id=kind,
    )  # fmt: skip


def _token() -> str:
    return secrets.token_urlsafe(32)


def _check_secret(auth: str, secret: str | None) -> None:
    if not secret:
        return
    try:
        if auth == "svix":
            signatures.svix_key(secret)
        elif auth == "ecdsa":
            signatures.ecdsa_public_key(secret)
    except ValueError as exc:
        field = "signing_secret" if auth == "svix" else "public_key"
        raise errors.EndpointInvalid(f"{exc}.", details={"field": field}) from None


# ---- receiving ---------------------------------------------------------------------------


async def receive(
    session: AsyncSession,
    kind: str,
    token: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> WebhookReceipt:
    """One provider request, `headers` with lower-case names. Raises a WebhookRefused (401,
    counted, the count committed) unless the provider's check passes."""
    now = now or datetime.now(UTC)
    endpoint = await session.scalar(
        select(InboundEndpoint).where(InboundEndpoint.token == token, InboundEndpoint.kind == kind)
    )
    if endpoint is None:
        WEBHOOKS.labels(kind, "unknown", errors.UnknownEndpoint.code).inc()
        raise errors.UnknownEndpoint()
    try:
        await _verify(session, endpoint, headers, body, now)
    except errors.WebhookRefused as refused:
        await _count(session, endpoint, now, refused=refused.code)
        log.warning("inbox.webhook_refused", kind=kind, endpoint=str(endpoint.id),
                    code=refused.code)  # fmt: skip
        raise
    try:
        received = events.split(kind, body, headers=headers)
    except events.PayloadInvalid as exc:
        # Signed by the provider, so kept as it came for a look, however it is malformed.
        kept = {"unreadable_body": body.decode("utf-8", "replace").replace("\x00", "\ufffd"),
                "content_type": headers.get("content-type", ""), "error": str(exc)}  # fmt: skip
        ids = await store.store_payloads(
            session, endpoint.workspace_id, [(f"{kind}:invalid:{_digest(body)}", kept)],
            source=kind,
        )  # fmt: skip
        for item_id in ids:
            await store.mark_processed(session, item_id, error=str(exc))
        await _count(session, endpoint, now, refused=None)
        raise errors.PayloadInvalid(str(exc)) from None
    ids = await store.store_payloads(
        session, endpoint.workspace_id, [(r.key, r.payload) for r in received], source=kind
    )
    await _count(session, endpoint, now, refused=None)
    processed = 0
    items = (await session.scalars(select(InboundItem).where(InboundItem.id.in_(ids)))).all()
    for item in items:
        try:
            async with session.begin_nested():
                if await process.process_item(session, item, now=now) is not None:
                    processed += 1
        except Exception as exc:  # kept for process_pending; the provider need not resend
            log.exception("inbox.webhook_processing_failed", item=str(item.id))
            await store.mark_processed(session, item.id, error=f"{type(exc).__name__}: {exc}")
    return WebhookReceipt(stored=len(ids), duplicates=len(received) - len(ids), processed=processed)


async def _verify(
    session: AsyncSession,
    endpoint: InboundEndpoint,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    auth = FEEDS[endpoint.kind].auth
    secret = await credentials.reveal(session, endpoint.secret_id)
    if not secret or (auth == "basic" and not endpoint.username):
        raise errors.NotConfigured()
    try:
        if auth == "basic":
            signatures.verify_basic(endpoint.username or "", secret, headers)
        elif auth == "svix":
            signatures.verify_svix(secret, headers, body, now=now.timestamp())
        else:
            signatures.verify_sendgrid(secret, headers, body)
    except signatures.Refused as refused:
        raise _REASONS[refused.reason](str(refused)) from None


async def _count(
    session: AsyncSession, endpoint: InboundEndpoint, now: datetime, *, refused: str | None
) -> None:
    values: dict[str, Any]
    if refused is None:
        values = {"received_count": InboundEndpoint.received_count + 1, "last_received_at": now}
    else:
        values = {
            "refused_count": InboundEndpoint.refused_count + 1,
            "last_refused_at": now,
            "last_refused_code": refused,
        }
    await session.execute(
        update(InboundEndpoint).where(InboundEndpoint.id == endpoint.id).values(**values)
    )
    WEBHOOKS.labels(endpoint.kind, str(endpoint.workspace_id), refused or "accepted").inc()


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
