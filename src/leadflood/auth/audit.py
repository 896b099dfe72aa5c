"""The audit log: append-only in the database (a trigger refuses UPDATE, DELETE, TRUNCATE)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth.principal import CurrentMember, Origin
from leadflood.db.scope import scoped
from leadflood.models import AuditEvent
from leadflood.pagination import Window, newest_first, page_of


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: CurrentMember | None = None,
    workspace_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    label: str | None = None,
    origin: Origin | None = None,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Who (`actor`, or `user_id`/`label` before anyone is signed in), what (`action`), on what
    (`target_*`), from where (`origin`). Never pass secrets in `details`."""
    origin = origin or (actor.origin if actor else Origin())
    event = AuditEvent(
        id=uuid.uuid4(),
        workspace_id=workspace_id or (actor.workspace_id if actor else None),
        actor_user_id=user_id or (actor.user.id if actor and actor.user else None),
        actor_api_key_id=actor.api_key.id if actor and actor.api_key else None,
        actor=(label or (actor.label if actor else None) or "")[:320] or None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:300] or None,
        request_id=origin.request_id,
        details=details or {},
    )
    session.add(event)
    await session.flush()
    return event


async def list_page(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    action: str | None = None,
) -> Window[AuditEvent]:
    query = scoped(AuditEvent, workspace_id)
    if action:
        query = query.where(AuditEvent.action == action)
    query = newest_first(query, AuditEvent.created_at, AuditEvent.id, cursor=cursor, limit=limit)
    return page_of(list((await session.scalars(query)).all()), limit, cursor)
