"""API keys, provider credentials and the audit log: the JSON API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from leadflood.auth import api_keys, audit, credentials
from leadflood.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuditEventRead,
    CredentialRead,
    CredentialSet,
)
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import AdminDep, SessionDep

router = APIRouter(prefix="/v1")

Provider = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]


@router.get("/api-keys", response_model=list[ApiKeyRead], tags=["api keys"])
async def list_api_keys(member: AdminDep, session: SessionDep) -> list[ApiKeyRead]:
    return [
        ApiKeyRead.model_validate(k) for k in await api_keys.list_all(session, member.workspace_id)
    ]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, tags=["api keys"])
async def create_api_key(
    data: ApiKeyCreate, member: AdminDep, session: SessionDep
) -> ApiKeyCreated:
    """A key for scripts and integrations, sent as `X-API-Key` or `Authorization: Bearer`.
    The secret is in this response only."""
    key, secret = await api_keys.create(
        session, member, name=data.name, role=data.role, expires_at=data.expires_at
    )
    return ApiKeyCreated(api_key=ApiKeyRead.model_validate(key), secret=secret)


@router.delete("/api-keys/{key_id}", status_code=204, tags=["api keys"])
async def revoke_api_key(key_id: uuid.UUID, member: AdminDep, session: SessionDep) -> Response:
    await api_keys.revoke(session, member, key_id)
    return Response(status_code=204)


@router.get("/credentials", response_model=list[CredentialRead], tags=["credentials"])
async def list_credentials(member: AdminDep, session: SessionDep) -> list[CredentialRead]:
    """Which providers have credentials; the secrets themselves are never returned."""
    rows = await credentials.list_all(session, member.workspace_id)
    return [CredentialRead.model_validate(row) for row in rows]


@router.put("/credentials/{provider}", response_model=CredentialRead, tags=["credentials"])
async def set_credential(
    provider: Provider, data: CredentialSet, member: AdminDep, session: SessionDep
) -> CredentialRead:
    """Store (or replace) a provider's secret, encrypted at rest."""
    row = await credentials.set_secret(session, member, provider, data.secret)
    return CredentialRead.model_validate(row)


@router.delete("/credentials/{provider}", status_code=204, tags=["credentials"])
async def delete_credential(provider: Provider, member: AdminDep, session: SessionDep) -> Response:
    await credentials.delete(session, member, provider)
    return Response(status_code=204)


@router.get("/audit-events", response_model=Page[AuditEventRead], tags=["audit"])
async def list_audit_events(
    member: AdminDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[AuditEventRead]:
    """Privileged actions in this workspace, newest first: who, what, when, from where."""
    page = await audit.list_page(
        session, member.workspace_id, limit=limit, cursor=cursor, action=action
    )
    return Page[AuditEventRead].of(page, AuditEventRead.model_validate)
