"""Signing in and out: API token pairs (access JWT + rotating refresh token) and browser
sessions (an opaque HttpOnly cookie). Both are rows of `auth_sessions`, listed and revoked
the same way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit, ratelimit, twofactor
from leadflood.auth import service as accounts
from leadflood.auth.errors import (
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
    SessionNotFound,
    TwoFactorCodeInvalid,
    TwoFactorRequired,
    WorkspaceNotFound,
)
from leadflood.auth.passwords import hash_password, needs_rehash, verify_password
from leadflood.auth.principal import Origin
from leadflood.auth.tokens import digest, issue_access_token, random_token
from leadflood.db.engine import Database
from leadflood.errors import AppError, RateLimited
from leadflood.models import AuthSession, RefreshToken, User, Workspace
from leadflood.settings import Settings

API = "api"
BROWSER = "browser"
# The sign-in page warns once this few attempts are left before the lock-out.
WARN_WHEN_LEFT = 3


@dataclass
class SignedIn:
    user: User
    auth_session: AuthSession
    workspace: Workspace | None
    access_token: str | None = None
    access_expires_at: datetime | None = None
    refresh_token: str | None = None
    cookie: str | None = None


async def _limit_login(db: Database, settings: Settings, email: str, origin: Origin) -> None:
    window = settings.login_window_seconds
    await ratelimit.hit(
        db, f"login:ip:{origin.ip}", limit=settings.login_attempts_per_ip, window_seconds=window
    )
    try:
        await ratelimit.check(
            db,
            f"login:account:{email.lower()}",
            limit=settings.login_attempts_per_account,
            window_seconds=window,
        )
    except RateLimited as exc:
        raise locked(exc.retry_after) from None


def locked(retry_after: int, *, now: datetime | None = None) -> RateLimited:
    """The lock-out error, saying when it lifts."""
    lifts = (now or datetime.now(UTC)) + timedelta(seconds=retry_after)
    minutes = max(1, -(-retry_after // 60))
    return RateLimited(
        f"Too many failed sign-ins: this account is locked until {lifts:%H:%M} UTC "
        f"(in {minutes} minute{'s' if minutes != 1 else ''}).",
        retry_after=retry_after,
        details={"locked_until": lifts.isoformat(timespec="seconds")},
    )


async def _count_failure(db: Database, settings: Settings, email: str) -> int:
    """Count a failed attempt on the account; how many are left before the lock-out."""
    hits = await ratelimit.hit(
        db,
        f"login:account:{email.lower()}",
        limit=settings.login_attempts_per_account + 1,
        window_seconds=settings.login_window_seconds,
    )
    return max(0, settings.login_attempts_per_account - hits)


def _failed(error: InvalidCredentials | TwoFactorCodeInvalid, left: int) -> AppError:
    error.details = {"attempts_left": left}
    if left <= WARN_WHEN_LEFT:
        error.message += (
            f" {left} attempt{'s' if left != 1 else ''} left before sign-in is locked."
            if left
            else " Sign-in is now locked for this account; try again later."
        )
    return error


async def authenticate(
    session: AsyncSession,
    *,
    db: Database,
    settings: Settings,
    email: str,
    password: str,
    origin: Origin,
) -> User:
    """The password step: the user, or InvalidCredentials (counted toward the lock-out, with
    the attempts left in its details)."""
    await _limit_login(db, settings, email, origin)
    user = await accounts.user_by_email(session, email)
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        left = await _count_failure(db, settings, email)
        await _record_failure(session, user, email, origin)
        raise _failed(InvalidCredentials(), left)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def second_factor(
    session: AsyncSession,
    *,
    db: Database,
    settings: Settings,
    user: User,
    code: str,
    origin: Origin,
) -> None:
    """The TOTP step; a wrong code counts toward the same lock-out as a wrong password."""
    await _limit_login(db, settings, user.email, origin)
    if not twofactor.check(settings, user, code):
        left = await _count_failure(db, settings, user.email)
        await accounts.record_user_event(session, "auth.totp_failed", user, origin=origin)
        raise _failed(TwoFactorCodeInvalid(), left)


async def login(
    session: AsyncSession,
    *,
    db: Database,
    settings: Settings,
    email: str,
    password: str,
    origin: Origin,
    kind: str = API,
    workspace_id: uuid.UUID | None = None,
    totp_code: str | None = None,
) -> SignedIn:
    user = await authenticate(
        session, db=db, settings=settings, email=email, password=password, origin=origin
    )
    if twofactor.enabled(user):
        if not totp_code:
            raise TwoFactorRequired()
        await second_factor(
            session, db=db, settings=settings, user=user, code=totp_code, origin=origin
        )
    return await finish_login(
        session, settings, user, origin=origin, kind=kind, workspace_id=workspace_id
    )


async def finish_login(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    origin: Origin,
    kind: str = API,
    workspace_id: uuid.UUID | None = None,
) -> SignedIn:
    """Open the session of a user who passed every step."""
    user.last_login_at = datetime.now(UTC)
    workspace = await _pick_workspace(session, user, workspace_id)
    signed_in = await start(session, settings, user, workspace, origin=origin, kind=kind)
    await audit.record(
        session,
        "auth.login",
        workspace_id=workspace.id if workspace else None,
        user_id=user.id,
        label=user.email,
        origin=origin,
        target_type="session",
        target_id=signed_in.auth_session.id,
        details={"kind": kind, "two_factor": twofactor.enabled(user)},
    )
    return signed_in


async def _record_failure(
    session: AsyncSession, user: User | None, email: str, origin: Origin
) -> None:
    await accounts.record_user_event(
        session, "auth.login_failed", user, label=email[:320], origin=origin
    )


async def _pick_workspace(
    session: AsyncSession, user: User, wanted: uuid.UUID | None
) -> Workspace | None:
    mine = await accounts.workspaces_of(session, user.id)
    if wanted is not None:
        for item in mine:
            if item.workspace.id == wanted:
                return item.workspace
        raise WorkspaceNotFound()
    return mine[0].workspace if mine else None


async def start(
    session: AsyncSession,
    settings: Settings,
    user: User,
    workspace: Workspace | None,
    *,
    origin: Origin,
    kind: str = API,
) -> SignedIn:
    """Open a session for a user whose identity is already proven."""
    now = datetime.now(UTC)
    days = settings.refresh_token_days if kind == API else settings.session_days
    row = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        kind=kind,
        workspace_id=workspace.id if workspace else None,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:300] or None,
        last_used_at=now,
        expires_at=now + timedelta(days=days),
    )
    signed_in = SignedIn(user=user, auth_session=row, workspace=workspace)
    if kind == BROWSER:
        signed_in.cookie = random_token()
        row.cookie_hash = digest(signed_in.cookie)
    session.add(row)
    await session.flush()
    if kind == API:
        signed_in.refresh_token = await _new_refresh_token(session, row, now)
        signed_in.access_token, signed_in.access_expires_at = issue_access_token(
            settings, user_id=user.id, session_id=row.id, now=now
        )
    return signed_in


async def _new_refresh_token(session: AsyncSession, row: AuthSession, now: datetime) -> str:
    token = random_token()
    session.add(
        RefreshToken(
            id=uuid.uuid4(),
            session_id=row.id,
            token_hash=digest(token),
            created_at=now,
            expires_at=row.expires_at,
        )
    )
    await session.flush()
    return token


async def refresh(
    session: AsyncSession,
    *,
    db: Database,
    settings: Settings,
    refresh_token: str,
    origin: Origin,
) -> SignedIn:
    """Rotate: the presented token is spent and a new pair issued. A spent token presented
    again means it leaked: the whole session (every token of the family) is revoked."""
    window = settings.login_window_seconds
    await ratelimit.hit(
        db,
        f"refresh:ip:{origin.ip}",
        limit=settings.login_attempts_per_ip * 4,
        window_seconds=window,
    )
    token = await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == digest(refresh_token))
        .with_for_update()
    )
    if token is None:
        raise InvalidToken()
    row = await session.get(AuthSession, token.session_id, with_for_update=True)
    assert row is not None
    await ratelimit.hit(
        db,
        f"refresh:account:{row.user_id}",
        limit=settings.login_attempts_per_account * 4,
        window_seconds=window,
    )
    now = datetime.now(UTC)
    if token.used_at is not None:
        if row.revoked_at is None:
            row.revoked_at, row.revoked_reason = now, "refresh_token_reused"
            await audit.record(
                session,
                "auth.refresh_token_reused",
                workspace_id=row.workspace_id,
                user_id=row.user_id,
                origin=origin,
                target_type="session",
                target_id=row.id,
            )
        raise RefreshTokenReused()
    user = await session.get(User, row.user_id)
    if row.revoked_at or row.expires_at <= now or token.expires_at <= now or not user:
        raise InvalidToken()
    if not user.is_active:
        raise InvalidToken()
    token.used_at = now
    row.last_used_at = now
    workspace = await session.get(Workspace, row.workspace_id) if row.workspace_id else None
    signed_in = SignedIn(user=user, auth_session=row, workspace=workspace)
    signed_in.refresh_token = await _new_refresh_token(session, row, now)
    signed_in.access_token, signed_in.access_expires_at = issue_access_token(
        settings, user_id=user.id, session_id=row.id, now=now
    )
    return signed_in


async def active(session: AsyncSession, session_id: uuid.UUID) -> tuple[AuthSession, User] | None:
    row = await session.get(AuthSession, session_id)
    return await _alive(session, row)


async def by_cookie(session: AsyncSession, cookie: str) -> tuple[AuthSession, User] | None:
    row = await session.scalar(select(AuthSession).where(AuthSession.cookie_hash == digest(cookie)))
    return await _alive(session, row)


async def _alive(session: AsyncSession, row: AuthSession | None) -> tuple[AuthSession, User] | None:
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return row, user


async def revoke(
    session: AsyncSession,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    reason: str = "revoked",
    origin: Origin | None = None,
) -> AuthSession:
    row = await session.scalar(
        select(AuthSession).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    )
    if row is None:
        raise SessionNotFound()
    if row.revoked_at is None:
        row.revoked_at, row.revoked_reason = datetime.now(UTC), reason
        await audit.record(
            session,
            "auth.logout" if reason == "logout" else "auth.session_revoked",
            workspace_id=row.workspace_id,
            user_id=user_id,
            origin=origin,
            target_type="session",
            target_id=row.id,
        )
    await session.flush()
    return row


async def revoke_others(
    session: AsyncSession,
    user_id: uuid.UUID,
    current: uuid.UUID | None,
    *,
    origin: Origin | None,
    label: str | None = None,
) -> int:
    """Sign out everywhere but `current`; how many sessions ended."""
    query = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC), revoked_reason="revoked_all_others")
    )
    if current is not None:
        query = query.where(AuthSession.id != current)
    ended = int(getattr(await session.execute(query), "rowcount", 0) or 0)
    user = await session.get(User, user_id)
    await accounts.record_user_event(
        session,
        "auth.sessions_revoked",
        user,
        label=label,
        origin=origin,
        details={"count": ended},
    )
    return ended


async def revoke_by_refresh_token(session: AsyncSession, refresh_token: str) -> None:
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
    )
    if token is not None:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == token.session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_reason="logout")
        )


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    query = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > datetime.now(UTC),
        )
        .order_by(AuthSession.created_at.desc(), AuthSession.id)
        .limit(200)
    )
    return list((await session.scalars(query)).all())


async def switch_workspace(
    session: AsyncSession, row: AuthSession, user: User, workspace_id: uuid.UUID
) -> Workspace:
    workspace = await _pick_workspace(session, user, workspace_id)
    assert workspace is not None
    row.workspace_id = workspace.id
    await session.flush()
    return workspace
