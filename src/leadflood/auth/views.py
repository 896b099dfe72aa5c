"""Browser sign-in: login, logout, first run, invitations and the workspace switcher."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, EmailStr, Field, ValidationError

from leadflood.auth import invitations, sessions
from leadflood.auth import service as accounts
from leadflood.auth.errors import InvalidCredentials, InvitationInvalid
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
    return render(
        request, "auth/login.html", {"form": {}, "next": request.query_params.get("next", "")}
    )


@router.post("/login")
async def login(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await _form(request, "email", "password", "next")
    context: dict[str, Any] = {"form": {"email": form["email"]}, "next": form["next"]}
    try:
        signed_in = await sessions.login(
            session,
            db=runtime.db,
            settings=runtime.settings,
            email=form["email"],
            password=form["password"],
            origin=origin_of(request),
            kind=sessions.BROWSER,
        )
    except InvalidCredentials as exc:
        return render(request, "auth/login.html", {**context, "error": exc.message}, status=401)
    except RateLimited as exc:
        return render(
            request,
            "auth/login.html",
            {**context, "error": "Too many sign-in attempts; wait a few minutes and retry."},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    response = RedirectResponse(safe_next(form["next"]), status_code=303)
    return _with_cookie(response, runtime, signed_in)


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
