"""Workspace API keys: shown once, stored as sha256 with a visible prefix, carrying a role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.errors import ApiKeyNotFound, RoleTooLow
from leadflood.auth.principal import CurrentMember
from leadflood.auth.tokens import digest, new_api_key
from leadflood.db.scope import get_scoped, scoped
from leadflood.models import ApiKey, Role, Workspace


async def create(
    session: AsyncSession,
    actor: CurrentMember,
    *,
    name: str,
    role: Role,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """(the stored key, the secret to show once). A key never outranks its creator."""
    if not actor.role.at_least(role):
        raise RoleTooLow(f"You cannot create a key with a role above your own ({actor.role}).")
    secret, prefix = new_api_key()
    key = ApiKey(
        id=uuid.uuid4(),
        workspace_id=actor.workspace_id,
        name=name,
        prefix=prefix,
        key_hash=digest(secret),
        role=role,
        created_by_id=actor.user.id if actor.user else None,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    await audit.record(
        session,
        "api_key.created",
        actor=actor,
        target_type="api_key",
        target_id=key.id,
        details={"name": name, "role": role.value, "prefix": prefix},
    )
    return key, secret


async def list_all(session: AsyncSession, workspace_id: uuid.UUID) -> list[ApiKey]:
    query = scoped(ApiKey, workspace_id).order_by(ApiKey.created_at.desc(), ApiKey.id).limit(500)
    return list((await session.scalars(query)).all())


async def revoke(session: AsyncSession, actor: CurrentMember, key_id: uuid.UUID) -> ApiKey:
    key = await get_scoped(
        session, ApiKey, actor.workspace_id, key_id, error=ApiKeyNotFound, for_update=True
    )
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session,
            "api_key.revoked",
            actor=actor,
            target_type="api_key",
            target_id=key.id,
            details={"name": key.name, "prefix": key.prefix},
        )
    return key


async def resolve(session: AsyncSession, secret: str) -> tuple[ApiKey, Workspace] | None:
    """The live key with this secret and its workspace; touches `last_used_at` (at most once a
    minute, to keep hot keys from writing on every request)."""
    row = (
        await session.execute(
            select(ApiKey, Workspace)
            .join(Workspace, Workspace.id == ApiKey.workspace_id)
            .where(ApiKey.key_hash == digest(secret))
        )
    ).first()
    if row is None:
        return None
    key, workspace = row
    now = datetime.now(UTC)
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        key.last_used_at = now
    return key, workspace
