"""Sign-in, sessions, workspaces, members and invitations: the JSON API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from leadflood.auth import invitations, mail, recovery, sessions, twofactor
from leadflood.auth import service as accounts
from leadflood.auth.schemas import (
    CurrentWorkspace,
    EmailVerifyConfirm,
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    LoginRequest,
    LogoutRequest,
    MailQueued,
    Me,
    MemberRead,
    MemberUpdate,
    PasswordResetConfirm,
    PasswordResetRequest,
    RecoveryCodes,
    RefreshRequest,
    SessionRead,
    SessionsRevoked,
    TokenPair,
    TotpCode,
    TotpEnrolment,
    UserRead,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
    WorkspaceWithRole,
)
from leadflood.models import Membership
from leadflood.web.deps import (
    AdminDep,
    CurrentUser,
    Identity,
    RuntimeDep,
    SessionDep,
    ViewerDep,
    optional_identity,
    origin_of,
)
from leadflood.web.error_handlers import ErrorResponse

router = APIRouter(prefix="/v1", tags=["auth"])
# Routes that mail through the system mailbox answer 503 when the instance has none.
NO_SYSTEM_MAIL: dict[int | str, dict[str, object]] = {
    503: {
        "model": ErrorResponse,
        "description": "`system_mail_not_configured`: no SYSTEM_SMTP_URL and no demo catcher",
    }
}


def _pair(signed_in: sessions.SignedIn) -> TokenPair:
    assert signed_in.access_token and signed_in.refresh_token and signed_in.access_expires_at
    now = signed_in.auth_session.last_used_at or signed_in.access_expires_at
    return TokenPair(
        access_token=signed_in.access_token,
        refresh_token=signed_in.refresh_token,
        expires_in=max(0, int((signed_in.access_expires_at - now).total_seconds())),
        workspace_id=signed_in.workspace.id if signed_in.workspace else None,
    )


@router.post("/auth/login", response_model=TokenPair)
async def login(
    data: LoginRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenPair:
    """Exchange email and password for an access token (15 minutes) and a refresh token."""
    signed_in = await sessions.login(
        session,
        db=runtime.db,
        settings=runtime.settings,
        email=data.email,
        password=data.password,
        origin=origin_of(request),
        workspace_id=data.workspace_id,
        totp_code=data.totp_code,
    )
    return _pair(signed_in)


@router.post("/auth/refresh", response_model=TokenPair)
async def refresh(
    data: RefreshRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenPair:
    """Spend a refresh token for a new pair. Presenting a spent token revokes its session."""
    signed_in = await sessions.refresh(
        session,
        db=runtime.db,
        settings=runtime.settings,
        refresh_token=data.refresh_token,
        origin=origin_of(request),
    )
    return _pair(signed_in)


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request,
    session: SessionDep,
    identity: Identity | None = Depends(optional_identity),
    data: LogoutRequest | None = None,
) -> Response:
    """End the session of the bearer token, or the one the given refresh token belongs to."""
    if identity is not None and identity.user and identity.auth_session:
        await sessions.revoke(
            session,
            identity.user.id,
            identity.auth_session.id,
            reason="logout",
            origin=origin_of(request),
        )
    if data is not None and data.refresh_token:
        await sessions.revoke_by_refresh_token(session, data.refresh_token)
    return Response(status_code=204)


@router.get("/auth/me", response_model=Me)
async def me(user: CurrentUser, session: SessionDep) -> Me:
    mine = await accounts.workspaces_of(session, user.user.id)
    return Me(
        user=UserRead.model_validate(user.user),
        workspaces=[
            WorkspaceWithRole(workspace=WorkspaceRead.model_validate(w.workspace), role=w.role)
            for w in mine
        ],
    )


@router.get("/auth/sessions", response_model=list[SessionRead])
async def list_sessions(user: CurrentUser, session: SessionDep) -> list[SessionRead]:
    rows = await sessions.list_for(session, user.user.id)
    return [
        SessionRead.model_validate(row).model_copy(
            update={"current": row.id == user.auth_session.id}
        )
        for row in rows
    ]


@router.delete("/auth/sessions/{session_id}", status_code=204)
async def revoke_session(
    session_id: uuid.UUID, request: Request, user: CurrentUser, session: SessionDep
) -> Response:
    await sessions.revoke(session, user.user.id, session_id, origin=origin_of(request))
    return Response(status_code=204)


@router.delete("/auth/sessions", response_model=SessionsRevoked)
async def revoke_other_sessions(
    request: Request, user: CurrentUser, session: SessionDep
) -> SessionsRevoked:
    """Sign out everywhere except the session making this call."""
    count = await sessions.revoke_others(
        session, user.user.id, user.auth_session.id, origin=origin_of(request)
    )
    return SessionsRevoked(revoked=count)


@router.post(
    "/auth/password-reset", response_model=MailQueued, status_code=202, responses=NO_SYSTEM_MAIL
)
async def request_password_reset(
    data: PasswordResetRequest,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    runtime: RuntimeDep,
) -> MailQueued:
    """Mail a single-use reset link (PASSWORD_RESET_MINUTES) to the address if it has an
    account; the answer is the same either way. 503 `system_mail_not_configured` when the
    instance has no system mailbox."""
    await recovery.limit_reset_requests(
        runtime.db, runtime.settings, origin_of(request), data.email
    )
    outgoing = await recovery.request_password_reset(
        session, runtime.settings, data.email, origin=origin_of(request)
    )
    recovery.send_after(background, outgoing)
    mailbox = await mail.require(session, runtime.settings)
    return MailQueued(
        detail="If an account has this address, a reset link is on its way.", via=mailbox.source
    )


@router.post("/auth/password-reset/confirm", status_code=204)
async def confirm_password_reset(
    data: PasswordResetConfirm, request: Request, session: SessionDep
) -> Response:
    """Set the new password with the mailed token; every session of the account ends."""
    await recovery.reset_password(session, data.token, data.password, origin=origin_of(request))
    return Response(status_code=204)


@router.post(
    "/auth/verify-email", response_model=MailQueued, status_code=202, responses=NO_SYSTEM_MAIL
)
async def send_verification(
    request: Request,
    background: BackgroundTasks,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
) -> MailQueued:
    """Mail a link that confirms the signed-in user's address."""
    outgoing = await recovery.request_verification(
        session, runtime.settings, user.user, origin=origin_of(request)
    )
    recovery.send_after(background, outgoing)
    return MailQueued(
        detail=f"A link is on its way to {user.user.email}.", via=outgoing.mailbox.source
    )


@router.post("/auth/verify-email/confirm", status_code=204)
async def confirm_email(
    data: EmailVerifyConfirm, request: Request, session: SessionDep
) -> Response:
    await recovery.verify_email(session, data.token, origin=origin_of(request))
    return Response(status_code=204)


@router.post("/auth/totp/setup", response_model=TotpEnrolment)
async def totp_setup(user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> TotpEnrolment:
    """Start enrolling an authenticator: the secret and its otpauth:// URI (for a QR code).
    Nothing changes at sign-in until `/auth/totp/enable` confirms a code."""
    secret, uri = await twofactor.begin(session, runtime.settings, user.user)
    return TotpEnrolment(secret=secret, otpauth_uri=uri)


@router.post("/auth/totp/enable", response_model=RecoveryCodes)
async def totp_enable(
    data: TotpCode, request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> RecoveryCodes:
    """Confirm with a current code; answers the one-time recovery codes (shown only now)."""
    codes = await twofactor.confirm(
        session, runtime.settings, user.user, data.code, origin=origin_of(request)
    )
    return RecoveryCodes(recovery_codes=codes)


@router.post("/auth/totp/disable", status_code=204)
async def totp_disable(
    data: TotpCode, request: Request, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Turn two-factor sign-in off; needs a current code or a recovery code."""
    await twofactor.disable(
        session, runtime.settings, user.user, data.code, origin=origin_of(request)
    )
    return Response(status_code=204)


@router.get("/workspaces", response_model=list[WorkspaceWithRole])
async def list_workspaces(user: CurrentUser, session: SessionDep) -> list[WorkspaceWithRole]:
    mine = await accounts.workspaces_of(session, user.user.id)
    return [
        WorkspaceWithRole(workspace=WorkspaceRead.model_validate(w.workspace), role=w.role)
        for w in mine
    ]


@router.post("/workspaces", status_code=201, response_model=WorkspaceRead)
async def create_workspace(
    data: WorkspaceCreate, request: Request, user: CurrentUser, session: SessionDep
) -> WorkspaceRead:
    """A new workspace (a client of the agency); its creator is its owner."""
    workspace = await accounts.create_owned_workspace(
        session, user.user, data.name, origin=origin_of(request)
    )
    return WorkspaceRead.model_validate(workspace)


@router.get("/workspaces/current", response_model=CurrentWorkspace)
async def current_workspace(member: ViewerDep) -> CurrentWorkspace:
    return CurrentWorkspace(
        workspace=WorkspaceRead.model_validate(member.workspace),
        role=member.role,
        via=member.via,
    )


@router.patch("/workspaces/current", response_model=WorkspaceRead)
async def rename_workspace(
    data: WorkspaceUpdate, member: AdminDep, session: SessionDep
) -> WorkspaceRead:
    """Renames the workspace and/or sets its default country; fields left out keep their value."""
    workspace = member.workspace
    if data.name is not None:
        workspace = await accounts.rename_workspace(session, member, data.name)
    if "default_country" in data.model_fields_set:
        workspace = await accounts.set_default_country(session, member, data.default_country)
    return WorkspaceRead.model_validate(workspace)


def _member_read(membership: Membership) -> MemberRead:
    return MemberRead(
        id=membership.id,
        user_id=membership.user_id,
        email=membership.user.email,
        name=membership.user.name,
        role=membership.role,
        created_at=membership.created_at,
    )


@router.get("/members", response_model=list[MemberRead])
async def list_members(member: ViewerDep, session: SessionDep) -> list[MemberRead]:
    return [_member_read(m) for m in await accounts.list_members(session, member.workspace_id)]


@router.patch("/members/{member_id}", response_model=MemberRead)
async def change_role(
    member_id: uuid.UUID, data: MemberUpdate, member: AdminDep, session: SessionDep
) -> MemberRead:
    return _member_read(await accounts.change_role(session, member, member_id, data.role))


@router.delete("/members/{member_id}", status_code=204)
async def remove_member(member_id: uuid.UUID, member: AdminDep, session: SessionDep) -> Response:
    await accounts.remove_member(session, member, member_id)
    return Response(status_code=204)


@router.get("/invitations", response_model=list[InvitationRead])
async def list_invitations(member: AdminDep, session: SessionDep) -> list[InvitationRead]:
    rows = await invitations.list_open(session, member.workspace_id)
    return [InvitationRead.model_validate(row) for row in rows]


@router.post("/invitations", status_code=201, response_model=InvitationCreated)
async def create_invitation(
    data: InvitationCreate, member: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> InvitationCreated:
    """An invitation link, valid once and for INVITATION_DAYS, mailed to the invitee through the
    system mailbox when there is one; its token is shown only now."""
    invitation, token = await invitations.create(
        session, member, runtime.settings, email=data.email, role=data.role
    )
    emailed = await invitations.email(session, member, runtime.settings, invitation)
    return InvitationCreated(
        invitation=InvitationRead.model_validate(invitation),
        token=token,
        url=invitations.link(runtime.settings, token),
        emailed=emailed.sent,
        email_error=emailed.error,
    )


@router.delete("/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(
    invitation_id: uuid.UUID, member: AdminDep, session: SessionDep
) -> Response:
    await invitations.revoke(session, member, invitation_id)
    return Response(status_code=204)


@router.post("/invitations/accept", response_model=TokenPair)
async def accept_invitation(
    data: InvitationAccept, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenPair:
    """Join the workspace: a new account sets its password here, an existing one proves it."""
    origin = origin_of(request)
    user, workspace = await invitations.accept(
        session, data.token, password=data.password, name=data.name, origin=origin
    )
    return _pair(await sessions.start(session, runtime.settings, user, workspace, origin=origin))


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    from leadflood.auth import admin_routes

    return [router, admin_routes.router]
