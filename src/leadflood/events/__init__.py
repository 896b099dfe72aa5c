"""Events for outbound webhooks, written where a change happens: `emit()` adds one row to the
`webhook_events` outbox in the caller's transaction (a rolled-back change emits nothing), and
only when an enabled endpoint of the workspace subscribes to that type, so a workspace without
webhooks pays one cheap statement. Delivery is the `webhooks` feature's job, far above this
module in the layers, so every feature can emit without importing it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

LEAD_CREATED = "lead.created"
LEAD_UPDATED = "lead.updated"
MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_BOUNCED = "message.bounced"
REPLY_RECEIVED = "reply.received"
ENROLLMENT_STOPPED = "enrollment.stopped"
CONTACT_UNSUBSCRIBED = "contact.unsubscribed"
IMPORT_FINISHED = "import.finished"
PING = "webhook.ping"  # sent by "Send test", never subscribed to

EVENT_TYPES = (
    LEAD_CREATED,
    LEAD_UPDATED,
    MESSAGE_SENT,
    MESSAGE_DELIVERED,
    MESSAGE_BOUNCED,
    REPLY_RECEIVED,
    ENROLLMENT_STOPPED,
    CONTACT_UNSUBSCRIBED,
    IMPORT_FINISHED,
)

LEAD_FIELDS = (
    "id", "email", "first_name", "last_name", "title", "company_name", "company_domain",
    "phone", "linkedin_url", "country", "status", "score", "source", "custom_fields",
)  # fmt: skip


def lead_data(lead: Any) -> dict[str, Any]:
    """The fields of a lead that `lead.*` events carry."""
    return {name: getattr(lead, name) for name in LEAD_FIELDS}


_EMIT = text(
    """
    INSERT INTO webhook_events (id, workspace_id, type, data)
    SELECT CAST(:id AS uuid), CAST(:workspace_id AS uuid), CAST(:type AS varchar),
        CAST(:data AS jsonb)
    WHERE EXISTS (
        SELECT 1 FROM webhook_endpoints
        WHERE workspace_id = CAST(:workspace_id AS uuid) AND enabled
            AND CAST(:type AS varchar) = ANY(events)
    )
    """
)


async def emit(
    session: AsyncSession, workspace_id: uuid.UUID, event_type: str, data: dict[str, Any]
) -> None:
    """Record `event_type` with `data` (JSON-serialisable) for the workspace's subscribed
    endpoints, in the session's transaction."""
    await emit_many(session, workspace_id, event_type, [data])


async def emit_many(
    session: AsyncSession, workspace_id: uuid.UUID, event_type: str, items: list[dict[str, Any]]
) -> None:
    """`emit` for many events of one type at once (one executemany), for set-based callers."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not items:
        return
    await session.execute(
        _EMIT,
        [
            {
                "id": uuid.uuid4(),
                "workspace_id": workspace_id,
                "type": event_type,
                "data": json.dumps(item, default=str),
            }
            for item in items
        ],
    )
