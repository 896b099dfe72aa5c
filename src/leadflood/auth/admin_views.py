"""Settings pages: members and invitations, API keys, provider credentials, the audit log and
your own sessions."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import api_keys, audit, credentials, invitations, sessions
from leadflood.auth import service as accounts
from leadflood.auth.errors import UnknownProvider
from leadflood.auth.principal import CurrentMember
from leadflood.auth.schemas import ApiKeyCreate, CredentialSet, InvitationCreate
from leadflood.errors import AppError
from leadflood.models import Role
from leadflood.pagination import DEFAULT_PAGE_SIZE
from leadflood.web.deps import AdminDep, CurrentUser, RuntimeDep, SessionDep, ViewerDep, origin_of
from leadflood.web.render import render

router = APIRouter(prefix="/settings", include_in_schema=False)
ROLES = [role.value for role in Role]
# The providers whose key a workspace stores here, with what each is used for.
PROVIDER_USES = {
    "apollo": "Apollo: people search and person and company enrichment",
    "hunter": "Hunter: email finder and email verification",
}


async def _form(request: Request) -> dict[str, str]:
    raw = await request.form()
    return {k: str(v).strip() for k, v in raw.items() if isinstance(v, str)}


def _page(
    request: Request, template: str, tab: str, context: dict[str, Any], **kw: Any
) -> Response:
    return render(
        request, template, {"active": "settings", "tab": tab, "roles": ROLES, **context}, **kw
    )


@router.get("")
async def settings_home() -> Response:
    return RedirectResponse("/settings/members", status_code=303)


@router.get("/members")
async def members_page(request: Request, member: ViewerDep, session: SessionDep) -> Response:
    return await _members(request, member, session)


async def _members(
    request: Request,
    member: CurrentMember,
    session: AsyncSession,
    *,
    invite_url: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    admin = member.role.at_least(Role.admin)
    context = {
        "members": await accounts.list_members(session, member.workspace_id),
        "invitations": await invitations.list_open(session, member.workspace_id) if admin else [],
        "can_manage": admin,
        "me": member,
        "invite_url": invite_url,
        "error": error,
    }
    return _page(request, "settings/members.html", "members", context, status=status)


@router.post("/members/{member_id}/role")
async def change_role(
    member_id: uuid.UUID, request: Request, member: AdminDep, session: SessionDep
) -> Response:
    form = await _form(request)
    role = Role(form.get("role", "")) if form.get("role") in ROLES else None
    if role is None:
        return await _members(request, member, session, error="Pick a role.", status=422)
    try:
        await accounts.change_role(session, member, member_id, role)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _members(request, member, session, error=exc.message, status=exc.status)
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/members/{member_id}/remove")
async def remove_member(
    member_id: uuid.UUID, request: Request, member: AdminDep, session: SessionDep
) -> Response:
    try:
        await accounts.remove_member(session, member, member_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _members(request, member, session, error=exc.message, status=exc.status)
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/invitations")
async def invite(
    request: Request, member: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await _form(request)
    try:
        data = InvitationCreate.model_validate(
            {"email": form.get("email", ""), "role": form.get("role") or "member"}
        )
        _, token = await invitations.create(
            session, member, runtime.settings, email=data.email, role=data.role
        )
    except ValidationError:
        return await _members(
            request, member, session, error="Enter a valid email address.", status=422
        )
    except AppError as exc:
        return await _members(request, member, session, error=exc.message, status=exc.status)
    url = f"{runtime.settings.public_url.rstrip('/')}/invite/{token}"
    return await _members(request, member, session, invite_url=url)


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    invitation_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> Response:
    await invitations.revoke(session, member, invitation_id)
    return RedirectResponse("/settings/members", status_code=303)


@router.get("/api-keys")
async def api_keys_page(request: Request, member: AdminDep, session: SessionDep) -> Response:
    return await _api_keys(request, member, session)


async def _api_keys(
    request: Request,
    member: CurrentMember,
    session: AsyncSession,
    *,
    secret: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "keys": await api_keys.list_all(session, member.workspace_id),
        "secret": secret,
        "error": error,
        "me": member,
    }
    return _page(request, "settings/api_keys.html", "api-keys", context, status=status)


@router.post("/api-keys")
async def create_api_key(request: Request, member: AdminDep, session: SessionDep) -> Response:
    form = await _form(request)
    try:
        data = ApiKeyCreate.model_validate(
            {"name": form.get("name", ""), "role": form.get("role") or "member"}
        )
        _, secret = await api_keys.create(session, member, name=data.name, role=data.role)
    except ValidationError:
        return await _api_keys(request, member, session, error="Name the key.", status=422)
    except AppError as exc:
        return await _api_keys(request, member, session, error=exc.message, status=exc.status)
    return await _api_keys(request, member, session, secret=secret)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: uuid.UUID, member: AdminDep, session: SessionDep) -> Response:
    await api_keys.revoke(session, member, key_id)
    return RedirectResponse("/settings/api-keys", status_code=303)


@router.get("/credentials")
async def credentials_page(request: Request, member: AdminDep, session: SessionDep) -> Response:
    return await _credentials(request, member, session)


async def _credentials(
    request: Request, member: CurrentMember, session: AsyncSession, *, error: str | None = None
) -> Response:
    saved = request.query_params.get("saved")
    context = {
        "credentials": await credentials.list_all(session, member.workspace_id),
        "providers": PROVIDER_USES,
        "saved": saved if saved in PROVIDER_USES else None,
        "error": error,
    }
    status = 422 if error else 200
    return _page(request, "settings/credentials.html", "credentials", context, status=status)


@router.post("/credentials")
async def set_credential(request: Request, member: AdminDep, session: SessionDep) -> Response:
    form = await _form(request)
    provider = form.get("provider", "").lower()
    try:
        data = CredentialSet.model_validate({"secret": form.get("secret", "")})
    except ValidationError:
        return await _credentials(request, member, session, error="Paste the secret.")
    try:
        await credentials.set_secret(session, member, provider, data.secret)
    except UnknownProvider:
        return await _credentials(request, member, session, error="Choose the provider.")
    return RedirectResponse(f"/settings/credentials?saved={provider}", status_code=303)


@router.post("/credentials/{provider}/delete")
async def delete_credential(provider: str, member: AdminDep, session: SessionDep) -> Response:
    await credentials.delete(session, member, provider)
    return RedirectResponse("/settings/credentials", status_code=303)


@router.get("/audit")
async def audit_page(
    request: Request, member: AdminDep, session: SessionDep, cursor: str | None = None
) -> Response:
    page = await audit.list_page(
        session, member.workspace_id, limit=DEFAULT_PAGE_SIZE, cursor=cursor
    )
    context = {"events": page.items, "page": page, "cursor": cursor}
    return _page(request, "settings/audit.html", "audit", context)


@router.get("/sessions")
async def sessions_page(
    request: Request, member: ViewerDep, user: CurrentUser, session: SessionDep
) -> Response:
    rows = await sessions.list_for(session, user.user.id)
    context = {"sessions": rows, "current_session_id": user.auth_session.id}
    return _page(request, "settings/sessions.html", "sessions", context)


@router.post("/sessions/{session_id}/revoke")
async def revoke_session(
    session_id: uuid.UUID, request: Request, user: CurrentUser, session: SessionDep
) -> Response:
    await sessions.revoke(session, user.user.id, session_id, origin=origin_of(request))
    return RedirectResponse("/settings/sessions", status_code=303)
