"""Browser sign-in: login, logout, first run, invitations and the workspace switcher."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, EmailStr, Field, ValidationError

from leadflood.auth import invitations, mail, recovery, sessions, twofactor
from leadflood.auth import service as accounts
from leadflood.auth.errors import (
    AccountTokenInvalid,
    InvalidCredentials,
    InvitationInvalid,
    TwoFactorCodeInvalid,
)
from leadflood.auth.passwords import MIN_LENGTH
from leadflood.errors import AppError, RateLimited
from leadflood.runtime import Runtime
from leadflood.web import forms
from leadflood.web.deps import (
    SESSION_COOKIE,
    CurrentUser,
    Identity,
    RuntimeDep,
    SessionDep,
    optional_identity,
    origin_of,
)
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
# How long the TOTP step of a browser sign-in may wait after the password step.
TWO_FACTOR_STEP = timedelta(minutes=5)


def safe_next(target: str | None) -> str:
    """Only a path of this site: never `//evil.example` or `https://...`."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/leads"


def _with_cookie(response: Response, runtime: Runtime, signed_in: sessions.SignedIn) -> Response:
    assert signed_in.cookie is not None
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.cookie,
        max_age=runtime.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        path="/",
    )
    return response


async def _form(request: Request, *names: str) -> dict[str, str]:
    raw = await request.form()
    return {name: str(raw.get(name) or "").strip() for name in names}


def _errors(exc: ValidationError) -> dict[str, str]:
    return forms.field_errors(exc, key=lambda loc: str(loc[0]))


@router.get("/login")
async def login_page(
    request: Request, session: SessionDep, identity: Identity | None = Depends(optional_identity)
) -> Response:
    if not await accounts.has_users(session):
        return RedirectResponse("/setup", status_code=303)
    if identity is not None and identity.via == "cookie":
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    context = {
        "form": {},
        "next": request.query_params.get("next", ""),
        "reset_done": request.query_params.get("reset") == "1",
    }
    return render(request, "auth/login.html", context)


def _locked(request: Request, context: dict[str, Any], exc: RateLimited) -> Response:
    message = exc.message if exc.details else sessions.locked(exc.retry_after).message
    return render(
        request,
        "auth/login.html",
        {**context, "error": message, "locked": True},
        status=429,
        headers={"Retry-After": str(exc.retry_after)},
    )


def _refused(request: Request, template: str, context: dict[str, Any], exc: AppError) -> Response:
    left = (exc.details or {}).get("attempts_left")
    warn = left is not None and left <= sessions.WARN_WHEN_LEFT
    context = {**context, "error": exc.message, "attempts_left": left if warn else None}
    return render(request, template, context, status=exc.status)


@router.post("/login")
async def login(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await _form(request, "email", "password", "next")
    context: dict[str, Any] = {"form": {"email": form["email"]}, "next": form["next"]}
    origin = origin_of(request)
    try:
        user = await sessions.authenticate(
            session,
            db=runtime.db,
            settings=runtime.settings,
            email=form["email"],
            password=form["password"],
            origin=origin,
        )
    except InvalidCredentials as exc:
        return _refused(request, "auth/login.html", context, exc)
    except RateLimited as exc:
        return _locked(request, context, exc)
    if twofactor.enabled(user):
        challenge = await recovery.issue(
            session, user, recovery.SIGN_IN_CHALLENGE, lifetime=TWO_FACTOR_STEP
        )
        return render(
            request, "auth/two_factor.html", {"challenge": challenge, "next": form["next"]}
        )
    signed_in = await sessions.finish_login(
        session, runtime.settings, user, origin=origin, kind=sessions.BROWSER
    )
    response = RedirectResponse(safe_next(form["next"]), status_code=303)
    return _with_cookie(response, runtime, signed_in)


@router.post("/login/two-factor")
async def login_two_factor(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """The second step: the password was right; a TOTP or recovery code finishes the sign-in."""
    form = await _form(request, "challenge", "code", "next")
    context: dict[str, Any] = {"challenge": form["challenge"], "next": form["next"]}
    try:
        _, user = await recovery.find(session, form["challenge"], recovery.SIGN_IN_CHALLENGE)
    except AccountTokenInvalid:
        error = "That sign-in took too long; enter your email and password again."
        context = {"form": {}, "next": form["next"], "error": error}
        return render(request, "auth/login.html", context, status=400)
    origin = origin_of(request)
    try:
        await sessions.second_factor(
            session,
            db=runtime.db,
            settings=runtime.settings,
            user=user,
            code=form["code"],
            origin=origin,
        )
    except TwoFactorCodeInvalid as exc:
        return _refused(request, "auth/two_factor.html", context, exc)
    except RateLimited as exc:
        return _locked(request, {"form": {"email": user.email}, "next": form["next"]}, exc)
    await recovery.spend(session, form["challenge"], recovery.SIGN_IN_CHALLENGE)
    signed_in = await sessions.finish_login(
        session, runtime.settings, user, origin=origin, kind=sessions.BROWSER
    )
    response = RedirectResponse(safe_next(form["next"]), status_code=303)
    return _with_cookie(response, runtime, signed_in)


@router.get("/forgot-password")
async def forgot_password_page(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    mailbox = await mail.system_mailbox(session, runtime.settings)
    context: dict[str, Any] = {"form": {}, "no_mail": None if mailbox else mail.HOW_TO_CONFIGURE}
    return render(request, "auth/forgot.html", context)


@router.post("/forgot-password")
async def forgot_password(
    request: Request, background: BackgroundTasks, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = await _form(request, "email")
    context: dict[str, Any] = {"form": form}
    if "@" not in form["email"]:
        context["errors"] = {"email": "Enter the email address of your account."}
        return render(request, "auth/forgot.html", context, status=422)
    origin = origin_of(request)
    try:
        await recovery.limit_reset_requests(runtime.db, runtime.settings, origin, form["email"])
        outgoing = await recovery.request_password_reset(
            session, runtime.settings, form["email"], origin=origin
        )
    except mail.MailNotConfigured as exc:
        return render(request, "auth/forgot.html", {**context, "no_mail": exc.message}, status=503)
    except RateLimited as exc:
        error = f"Too many reset requests; try again in {max(1, exc.retry_after // 60)} minutes."
        return render(request, "auth/forgot.html", {**context, "error": error}, status=429)
    recovery.send_after(background, outgoing)
    return render(request, "auth/forgot.html", {**context, "sent": True})


class ResetForm(BaseModel):
    password: str = Field(min_length=MIN_LENGTH, max_length=200)


@router.get("/reset-password/{token}")
async def reset_password_page(token: str, request: Request, session: SessionDep) -> Response:
    try:
        _, user = await recovery.find(session, token, recovery.PASSWORD_RESET)
    except AccountTokenInvalid as exc:
        return render(request, "auth/reset.html", {"invalid": exc.message}, status=400)
    return render(request, "auth/reset.html", {"email": user.email, "errors": {}})


@router.post("/reset-password/{token}")
async def reset_password(token: str, request: Request, session: SessionDep) -> Response:
    form = await _form(request, "password", "confirm")
    try:
        _, user = await recovery.find(session, token, recovery.PASSWORD_RESET)
    except AccountTokenInvalid as exc:
        return render(request, "auth/reset.html", {"invalid": exc.message}, status=400)
    context: dict[str, Any] = {"email": user.email, "errors": {}}
    try:
        data = ResetForm.model_validate({"password": form["password"]})
    except ValidationError as exc:
        return render(request, "auth/reset.html", {**context, "errors": _errors(exc)}, status=422)
    if form["confirm"] != data.password:
        errors = {"confirm": "The two passwords differ."}
        return render(request, "auth/reset.html", {**context, "errors": errors}, status=422)
    await recovery.reset_password(session, token, data.password, origin=origin_of(request))
    response = RedirectResponse("/login?reset=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/verify-email/{token}")
async def verify_email_page(token: str, request: Request, session: SessionDep) -> Response:
    # A mail scanner may open the link: the address is confirmed by the button, not the visit.
    try:
        _, user = await recovery.find(session, token, recovery.VERIFY_EMAIL)
    except AccountTokenInvalid as exc:
        return render(request, "auth/verify.html", {"invalid": exc.message}, status=400)
    return render(request, "auth/verify.html", {"email": user.email})


@router.post("/verify-email/{token}")
async def verify_email(token: str, request: Request, session: SessionDep) -> Response:
    try:
        user = await recovery.verify_email(session, token, origin=origin_of(request))
    except AccountTokenInvalid as exc:
        return render(request, "auth/verify.html", {"invalid": exc.message}, status=400)
    return render(request, "auth/verify.html", {"email": user.email, "verified": True})


@router.post("/logout")
async def logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    await sessions.revoke(
        session, user.user.id, user.auth_session.id, reason="logout", origin=origin_of(request)
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class SetupForm(BaseModel):
    workspace: str = Field(min_length=1, max_length=120)
    name: str | None = Field(None, max_length=120)
    email: EmailStr
    password: str = Field(min_length=MIN_LENGTH, max_length=200)


@router.get("/setup")
async def setup_page(request: Request, session: SessionDep) -> Response:
    if await accounts.has_users(session):
        return RedirectResponse("/login", status_code=303)
    return render(request, "auth/setup.html", {"form": {}, "errors": {}})


@router.post("/setup")
async def setup(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await _form(request, "workspace", "name", "email", "password")
    try:
        data = SetupForm.model_validate({k: v for k, v in form.items() if v})
    except ValidationError as exc:
        context = {"form": form | {"password": ""}, "errors": _errors(exc)}
        return render(request, "auth/setup.html", context, status=422)
    origin = origin_of(request)
    user, workspace = await accounts.set_up_first_owner(
        session,
        email=data.email,
        password=data.password,
        name=data.name,
        workspace_name=data.workspace,
        origin=origin,
    )
    signed_in = await sessions.start(
        session, runtime.settings, user, workspace, origin=origin, kind=sessions.BROWSER
    )
    return _with_cookie(RedirectResponse("/leads", status_code=303), runtime, signed_in)


@router.post("/session/workspace")
async def switch_workspace(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    form = await _form(request, "workspace_id", "next")
    try:
        workspace_id = uuid.UUID(form["workspace_id"])
    except ValueError:
        workspace_id = uuid.UUID(int=0)
    await sessions.switch_workspace(session, user.auth_session, user.user, workspace_id)
    return RedirectResponse(safe_next(form["next"]), status_code=303)


class InviteForm(BaseModel):
    name: str | None = Field(None, max_length=120)
    password: str = Field(min_length=MIN_LENGTH, max_length=200)


@router.get("/invite/{token}")
async def invitation_page(token: str, request: Request, session: SessionDep) -> Response:
    invitation, workspace = await invitations.find_open(session, token)
    existing = await accounts.user_by_email(session, invitation.email)
    context = {
        "invitation": invitation,
        "invited_workspace": workspace,
        "existing": existing is not None,
        "form": {},
        "errors": {},
    }
    return render(request, "auth/invite.html", context)


@router.post("/invite/{token}")
async def accept_invitation(
    token: str, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    invitation, workspace = await invitations.find_open(session, token)
    existing = await accounts.user_by_email(session, invitation.email) is not None
    form = await _form(request, "name", "password")
    context: dict[str, Any] = {
        "invitation": invitation,
        "invited_workspace": workspace,
        "existing": existing,
        "form": {"name": form["name"]},
        "errors": {},
    }
    try:
        data = InviteForm.model_validate({k: v for k, v in form.items() if v})
        user, workspace = await invitations.accept(
            session, token, password=data.password, name=data.name, origin=origin_of(request)
        )
    except ValidationError as exc:
        return render(request, "auth/invite.html", {**context, "errors": _errors(exc)}, status=422)
    except (InvalidCredentials, InvitationInvalid) as exc:
        return _invite_error(request, context, exc)
    signed_in = await sessions.start(
        session, runtime.settings, user, workspace, origin=origin_of(request), kind=sessions.BROWSER
    )
    return _with_cookie(RedirectResponse("/leads", status_code=303), runtime, signed_in)


def _invite_error(request: Request, context: dict[str, Any], exc: AppError) -> Response:
    errors = {"password": exc.message}
    return render(request, "auth/invite.html", {**context, "errors": errors}, status=exc.status)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    from leadflood.auth import admin_views

    return [router, admin_views.router]
