"""Settings pages: members and invitations, API keys, provider credentials, the audit log and
your own sign-in and security (sessions, email confirmation, two-factor sign-in)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import (
    api_keys,
    audit,
    credentials,
    invitations,
    mail,
    recovery,
    sessions,
    twofactor,
)
from leadflood.auth import service as accounts
from leadflood.auth.errors import UnknownProvider
from leadflood.auth.principal import CurrentMember
from leadflood.auth.schemas import ApiKeyCreate, CredentialSet, InvitationCreate
from leadflood.errors import AppError
from leadflood.models import Role
from leadflood.pagination import DEFAULT_PAGE_SIZE
from leadflood.runtime import Runtime
from leadflood.web.deps import (
    AdminDep,
    CurrentUser,
    RequireRole,
    RuntimeDep,
    SessionDep,
    SignedInUser,
    ViewerDep,
    origin_of,
)
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
    invite_email: str | None = None,
    emailed: invitations.Emailed | None = None,
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
        "invite_email": invite_email,
        "emailed": emailed,
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
        invitation, token = await invitations.create(
            session, member, runtime.settings, email=data.email, role=data.role
        )
    except ValidationError:
        return await _members(
            request, member, session, error="Enter a valid email address.", status=422
        )
    except AppError as exc:
        return await _members(request, member, session, error=exc.message, status=exc.status)
    emailed = await invitations.email(session, member, runtime.settings, invitation)
    url = invitations.link(runtime.settings, token)
    return await _members(
        request, member, session, invite_url=url, invite_email=invitation.email, emailed=emailed
    )


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
    request: Request, member: ViewerDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    return await _security(request, user, session, runtime)


async def _security(
    request: Request,
    user: SignedInUser,
    session: AsyncSession,
    runtime: Runtime,
    *,
    notice: str | None = None,
    error: str | None = None,
    recovery_codes: list[str] | None = None,
    status: int = 200,
) -> Response:
    # The page is the user's own (no role needed to change it), but the app's chrome shows
    # their current workspace and role: the viewer dependency fills it in.
    await RequireRole(Role.viewer)(request, session, runtime)
    settings = runtime.settings
    pending = twofactor.pending_secret(settings, user.user)
    enrolment = None
    if pending is not None:
        uri = twofactor.provisioning_uri(settings, user.user)
        enrolment = {"secret": pending, "qr": twofactor.qr_svg(uri)}
    context = {
        "sessions": await sessions.list_for(session, user.user.id),
        "current_session_id": user.auth_session.id,
        "account": user.user,
        "totp_on": twofactor.enabled(user.user),
        "recovery_left": len(user.user.totp_recovery_codes or []),
        "enrolment": enrolment,
        "recovery_codes": recovery_codes,
        "mailbox": await mail.system_mailbox(session, settings),
        "no_mail": mail.HOW_TO_CONFIGURE,
        "notice": notice,
        "error": error,
    }
    return _page(request, "settings/sessions.html", "sessions", context, status=status)


@router.post("/sessions/revoke-others")
async def revoke_other_sessions(
    request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    count = await sessions.revoke_others(
        session, user.user.id, user.auth_session.id, origin=origin_of(request)
    )
    notice = f"Signed out {count} other session{'s' if count != 1 else ''}."
    return await _security(request, user, session, runtime, notice=notice)


@router.post("/sessions/{session_id}/revoke")
async def revoke_session(
    session_id: uuid.UUID, request: Request, user: CurrentUser, session: SessionDep
) -> Response:
    await sessions.revoke(session, user.user.id, session_id, origin=origin_of(request))
    return RedirectResponse("/settings/sessions", status_code=303)


@router.post("/security/verify-email")
async def send_verification(
    request: Request,
    background: BackgroundTasks,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        outgoing = await recovery.request_verification(
            session, runtime.settings, user.user, origin=origin_of(request)
        )
    except mail.MailNotConfigured as exc:
        return await _security(request, user, session, runtime, error=exc.message, status=503)
    recovery.send_after(background, outgoing)
    notice = f"A confirmation link is on its way to {user.user.email}."
    return await _security(request, user, session, runtime, notice=notice)


@router.post("/security/totp/start")
async def totp_start(
    request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    try:
        await twofactor.begin(session, runtime.settings, user.user)
    except AppError as exc:
        return await _security(request, user, session, runtime, error=exc.message, status=409)
    return await _security(request, user, session, runtime)


@router.post("/security/totp/confirm")
async def totp_confirm(
    request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await _form(request)
    try:
        codes = await twofactor.confirm(
            session, runtime.settings, user.user, form.get("code", ""), origin=origin_of(request)
        )
    except AppError as exc:
        return await _security(
            request, user, session, runtime, error=exc.message, status=exc.status
        )
    notice = "Two-factor sign-in is on. Keep these recovery codes somewhere safe."
    return await _security(request, user, session, runtime, notice=notice, recovery_codes=codes)


@router.post("/security/totp/cancel")
async def totp_cancel(
    request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    if not twofactor.enabled(user.user):
        user.user.totp_secret = None
        await session.flush()
    return RedirectResponse("/settings/sessions", status_code=303)


@router.post("/security/totp/disable")
async def totp_disable(
    request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await _form(request)
    try:
        await twofactor.disable(
            session, runtime.settings, user.user, form.get("code", ""), origin=origin_of(request)
        )
    except AppError as exc:
        return await _security(
            request, user, session, runtime, error=exc.message, status=exc.status
        )
    notice = "Two-factor sign-in is off: your password alone signs you in."
    return await _security(request, user, session, runtime, notice=notice)
