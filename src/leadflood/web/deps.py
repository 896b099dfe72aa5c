"""Typed request dependencies, defined once and used by every route."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import api_keys, csrf, ratelimit, sessions, tokens
from leadflood.auth import service as accounts
from leadflood.auth.errors import (
    CsrfFailed,
    InvalidToken,
    RoleTooLow,
    UserRequired,
    WorkspaceNotFound,
)
from leadflood.auth.principal import CurrentMember, Origin
from leadflood.errors import AppError, Unauthorized
from leadflood.logging import bind_context
from leadflood.models import ApiKey, AuthSession, Role, Thread, User, Workspace
from leadflood.runtime import Runtime

SESSION_COOKIE = "lf_session"
WORKSPACE_HEADER = "x-workspace-id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed once when the handler returns (before the response
    is sent, so a failed commit is an error response), rolled back on any error except those
    marked `keep_changes` (a failed sign-in must stay in the audit log)."""
    async with runtime.db.session() as session:
        try:
            yield session
        except AppError as exc:
            if exc.keep_changes:
                await session.commit()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def origin_of(request: Request) -> Origin:
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
    )


@dataclass
class Identity:
    """Who presented credentials, before a workspace is chosen."""

    via: str
    user: User | None = None
    auth_session: AuthSession | None = None
    api_key: ApiKey | None = None
    key_workspace: Workspace | None = None


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _identify(request: Request, session: AsyncSession, runtime: Runtime) -> Identity | None:
    if hasattr(request.state, "identity"):
        identity: Identity | None = request.state.identity
        return identity
    identity = None
    key = request.headers.get("x-api-key") or None
    bearer = _bearer(request)
    if key is None and bearer and tokens.looks_like_api_key(bearer):
        key = bearer
    if key is not None:
        # Counted (in its own transaction) before this request's session takes a connection:
        # a request holding one connection while it waits for a second lets concurrent
        # requests exhaust the pool and wait on each other until the pool's timeout.
        await ratelimit.hit(
            runtime.db,
            f"api_key:{tokens.digest(key)[:32]}",
            limit=runtime.settings.api_key_requests_per_minute,
            window_seconds=60,
        )
        found = await api_keys.resolve(session, key)
        if found is None:
            raise InvalidToken("The API key is not valid, has expired or was revoked.")
        identity = Identity(via="api_key", api_key=found[0], key_workspace=found[1])
    elif bearer is not None:
        claims = tokens.read_access_token(runtime.settings, bearer)
        alive = await sessions.active(session, claims.session_id)
        if alive is None or alive[1].id != claims.user_id:
            raise InvalidToken("This session was signed out or revoked; sign in again.")
        identity = Identity(via="token", auth_session=alive[0], user=alive[1])
    elif cookie := request.cookies.get(SESSION_COOKIE):
        alive = await sessions.by_cookie(session, cookie)
        if alive is not None:
            identity = Identity(via="cookie", auth_session=alive[0], user=alive[1])
            if request.method not in SAFE_METHODS and request.url.path.startswith("/v1/"):
                # Cookie-authenticated API calls from the UI's scripts carry the form token.
                cookie_value = request.cookies.get(csrf.COOKIE)
                if not csrf.verify(
                    runtime.settings, cookie_value, request.headers.get(csrf.HEADER)
                ):
                    raise CsrfFailed()
    request.state.identity = identity
    return identity


async def _wanted_workspace(request: Request, identity: Identity) -> uuid.UUID | None:
    raw = request.headers.get(WORKSPACE_HEADER) if identity.via == "token" else None
    if raw:
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise WorkspaceNotFound() from None
    return identity.auth_session.workspace_id if identity.auth_session else None


async def _member(request: Request, session: AsyncSession, runtime: Runtime) -> CurrentMember:
    if hasattr(request.state, "member"):
        cached: CurrentMember = request.state.member
        return cached
    identity = await _identify(request, session, runtime)
    if identity is None:
        raise Unauthorized()
    origin = origin_of(request)
    if identity.api_key is not None and identity.key_workspace is not None:
        member = CurrentMember(
            workspace=identity.key_workspace,
            role=identity.api_key.role,
            api_key=identity.api_key,
            via="api_key",
            origin=origin,
        )
    else:
        assert identity.user is not None and identity.auth_session is not None
        mine = await accounts.workspaces_of(session, identity.user.id)
        wanted = await _wanted_workspace(request, identity)
        chosen = next((w for w in mine if w.workspace.id == wanted), None)
        if chosen is None and wanted is not None and request.headers.get(WORKSPACE_HEADER):
            raise WorkspaceNotFound()
        chosen = chosen or (mine[0] if mine else None)
        if chosen is None:
            raise WorkspaceNotFound("You are not a member of any workspace yet.")
        if identity.auth_session.workspace_id != chosen.workspace.id and identity.via == "cookie":
            identity.auth_session.workspace_id = chosen.workspace.id
        member = CurrentMember(
            workspace=chosen.workspace,
            role=chosen.role,
            user=identity.user,
            session_id=identity.auth_session.id,
            via=identity.via,
            origin=origin,
        )
        _ui(request).update(
            workspaces=[
                _Choice(_Named(w.workspace.id, w.workspace.name), w.role.value) for w in mine
            ]
        )
    # Plain copies: an error page rendered after a rollback cannot reload ORM rows.
    user = member.user
    _ui(request).update(
        current_user=_Person(user.id, user.email, user.name) if user else None,
        current_role=member.role.value,
        current_workspace=_Named(member.workspace.id, member.workspace.name),
        workspace_name=member.workspace.name,
    )
    if identity.via == "cookie" and not request.url.path.startswith("/v1/"):
        # The sidebar's counts, on every page (a partial index keeps this cheap).
        _ui(request)["nav_counts"] = await nav_counts(session, member.workspace_id)
    request.state.member = member
    # Every later line of the request (its access log too) names who made it.
    bind_context(
        user_id=str(user.id) if user else None,
        api_key_id=str(member.api_key.id) if member.api_key else None,
        workspace_id=str(member.workspace.id),
    )
    return member


async def page_chrome(request: Request) -> None:
    """The signed-in user's sidebar and workspace on a page that ended before any dependency
    looked them up (an unknown address, an error): best effort, never an error of its own."""
    ui = getattr(request.state, "ui", None) or {}
    runtime = getattr(request.app.state, "runtime", None)
    if ui.get("current_workspace") is not None or runtime is None:
        return
    if SESSION_COOKIE not in request.cookies:
        return
    try:
        async with runtime.db.session() as session:
            await _member(request, session, runtime)
    except Exception:  # an expired session, a database away: the plain page will do
        return


async def nav_counts(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, int]:
    """The sidebar's counts: open inbox threads with something unread (the partial index
    ix_threads_workspace_unread answers it)."""
    unread = await session.scalar(
        select(func.count())
        .select_from(Thread)
        .where(Thread.workspace_id == workspace_id, Thread.unread, Thread.state == "open")
    )
    return {"inbox": int(unread or 0)}


@dataclass(frozen=True)
class _Named:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class _Choice:
    workspace: _Named
    role: str


@dataclass(frozen=True)
class _Person:
    id: uuid.UUID
    email: str
    name: str | None


def _ui(request: Request) -> dict[str, object]:
    if not hasattr(request.state, "ui"):
        request.state.ui = {}
    ui: dict[str, object] = request.state.ui
    return ui


class RequireRole:
    """`Depends(RequireRole(Role.member))`: the caller, in their current workspace, with at
    least this role; 401 without credentials, 403 with too low a role."""

    def __init__(self, role: Role | str) -> None:
        self.role = Role(role)

    async def __call__(
        self, request: Request, session: SessionDep, runtime: RuntimeDep
    ) -> CurrentMember:
        member = await _member(request, session, runtime)
        if not member.role.at_least(self.role):
            raise RoleTooLow(
                f"This needs the {self.role.value} role; yours is {member.role.value}."
            )
        return member


ViewerDep = Annotated[CurrentMember, Depends(RequireRole(Role.viewer))]
MemberDep = Annotated[CurrentMember, Depends(RequireRole(Role.member))]
AdminDep = Annotated[CurrentMember, Depends(RequireRole(Role.admin))]
OwnerDep = Annotated[CurrentMember, Depends(RequireRole(Role.owner))]


async def current_workspace(member: ViewerDep) -> Workspace:
    return member.workspace


WorkspaceDep = Annotated[Workspace, Depends(current_workspace)]


@dataclass
class SignedInUser:
    user: User
    auth_session: AuthSession
    via: str


async def current_user(request: Request, session: SessionDep, runtime: RuntimeDep) -> SignedInUser:
    """A signed-in person (token or browser), whatever their workspaces; API keys are refused."""
    identity = await _identify(request, session, runtime)
    if identity is None:
        raise Unauthorized()
    if identity.user is None or identity.auth_session is None:
        raise UserRequired()
    return SignedInUser(identity.user, identity.auth_session, identity.via)


CurrentUser = Annotated[SignedInUser, Depends(current_user)]


async def optional_identity(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> Identity | None:
    """For pages open to everyone (sign-in, first run): who is there, if anyone."""
    try:
        return await _identify(request, session, runtime)
    except Unauthorized:
        return None


async def verify_csrf(request: Request, runtime: RuntimeDep) -> None:
    """Every unsafe request to an HTML route carries the form token (field or header)."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(csrf.HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(csrf.FIELD)
            token = value if isinstance(value, str) else None
    if not csrf.verify(runtime.settings, request.cookies.get(csrf.COOKIE), token):
        raise CsrfFailed()
