"""Password resets and email verification by mail: single-use, expiring tokens stored as
sha256 (`account_tokens`). Asking for a reset answers the same whether or not the address has
an account; completing one revokes every session of the user."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTasks

from leadflood.auth import mail, ratelimit
from leadflood.auth import service as accounts
from leadflood.auth.errors import AccountTokenInvalid
from leadflood.auth.passwords import hash_password
from leadflood.auth.principal import Origin
from leadflood.auth.tokens import digest, random_token
from leadflood.db.engine import Database
from leadflood.models import AccountToken, AuthSession, User
from leadflood.settings import Settings

PASSWORD_RESET = "password_reset"
VERIFY_EMAIL = "verify_email"
SIGN_IN_CHALLENGE = "sign_in_challenge"
VERIFY_EMAIL_DAYS = 3


@dataclass(frozen=True)
class Outgoing:
    """A message to hand to the system mailbox once the request is answered."""

    mailbox: mail.SystemMailbox
    mail: mail.AccountMail


def send_after(background: BackgroundTasks, outgoing: Outgoing | None) -> None:
    """Mail once the answer is sent, so its timing tells nothing about whether an account
    exists. A refusal is logged by `mail.send`: the answer was already given."""
    if outgoing is not None:
        background.add_task(_send_quietly, outgoing)


async def _send_quietly(outgoing: Outgoing) -> None:
    with contextlib.suppress(mail.MailFailed):
        await mail.send(outgoing.mailbox, outgoing.mail)


async def limit_reset_requests(
    db: Database, settings: Settings, origin: Origin, email: str
) -> None:
    """Reset mails per client and per address, in the sign-in window."""
    window, limit = settings.login_window_seconds, settings.login_attempts_per_account
    await ratelimit.hit(db, f"reset:ip:{origin.ip}", limit=limit * 3, window_seconds=window)
    await ratelimit.hit(
        db, f"reset:account:{email.strip().lower()}", limit=limit, window_seconds=window
    )


def link(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"


async def issue(
    session: AsyncSession,
    user: User,
    purpose: str,
    *,
    lifetime: timedelta,
    email: str | None = None,
) -> str:
    """A new token for `purpose`; the user's earlier unused ones of that purpose stop working."""
    now = datetime.now(UTC)
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = random_token()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=digest(token),
            email=email,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


async def find(
    session: AsyncSession, token: str, purpose: str, *, for_update: bool = False
) -> tuple[AccountToken, User]:
    query = (
        select(AccountToken, User)
        .join(User, User.id == AccountToken.user_id)
        .where(AccountToken.token_hash == digest(token), AccountToken.purpose == purpose)
    )
    if for_update:
        query = query.with_for_update(of=AccountToken)
    row = (await session.execute(query)).first()
    if row is None:
        raise AccountTokenInvalid()
    found, user = row
    if found.used_at is not None or found.expires_at <= datetime.now(UTC) or not user.is_active:
        raise AccountTokenInvalid()
    return found, user


async def spend(session: AsyncSession, token: str, purpose: str) -> tuple[AccountToken, User]:
    found, user = await find(session, token, purpose, for_update=True)
    found.used_at = datetime.now(UTC)
    await session.flush()
    return found, user


async def request_password_reset(
    session: AsyncSession, settings: Settings, email: str, *, origin: Origin | None = None
) -> Outgoing | None:
    """The reset mail to send, or None when no active account has this address. Callers answer
    the same either way. Raises MailNotConfigured (whatever the address) when there is no
    system mailbox."""
    mailbox = await mail.require(session, settings)
    user = await accounts.user_by_email(session, email.strip())
    if user is None or not user.is_active:
        return None
    minutes = settings.password_reset_minutes
    token = await issue(session, user, PASSWORD_RESET, lifetime=timedelta(minutes=minutes))
    await accounts.record_user_event(session, "auth.password_reset_requested", user, origin=origin)
    text = (
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        "Someone (we hope you) asked to reset the password of your Lead Flood account "
        f"{user.email}.\n\nChoose a new password here; the link works once, for {minutes} "
        f"minutes:\n\n{link(settings, '/reset-password/' + token)}\n\n"
        "If you did not ask, ignore this message: your password stays as it is.\n"
    )
    subject = "Reset your Lead Flood password"
    return Outgoing(mailbox, mail.AccountMail(user.email, subject, text, "Choose a new password"))


async def reset_password(
    session: AsyncSession, token: str, password: str, *, origin: Origin | None = None
) -> User:
    """Set the new password, spend the token and sign the user out everywhere."""
    _, user = await spend(session, token, PASSWORD_RESET)
    user.password_hash = hash_password(password)
    now = datetime.now(UTC)
    # The link came by mail to this address, so it is proven.
    user.email_verified_at = user.email_verified_at or now
    ended = await revoke_all_sessions(session, user, reason="password_reset")
    await accounts.record_user_event(
        session, "auth.password_reset", user, origin=origin, details={"sessions_revoked": ended}
    )
    return user


async def set_password(
    session: AsyncSession, user: User, password: str, *, label: str, origin: Origin | None = None
) -> int:
    """An owner's reset from the shell: new password, every session ended."""
    user.password_hash = hash_password(password)
    ended = await revoke_all_sessions(session, user, reason="password_reset")
    await accounts.record_user_event(
        session,
        "auth.password_set",
        user,
        label=label,
        origin=origin,
        details={"sessions_revoked": ended},
    )
    return ended


async def revoke_all_sessions(
    session: AsyncSession, user: User, *, reason: str, keep: AuthSession | None = None
) -> int:
    query = (
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC), revoked_reason=reason)
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep.id)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def request_verification(
    session: AsyncSession, settings: Settings, user: User, *, origin: Origin | None = None
) -> Outgoing:
    mailbox = await mail.require(session, settings)
    token = await issue(
        session, user, VERIFY_EMAIL, lifetime=timedelta(days=VERIFY_EMAIL_DAYS), email=user.email
    )
    await accounts.record_user_event(session, "auth.email_verification_sent", user, origin=origin)
    text = (
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        f"Confirm that {user.email} is your address for Lead Flood (the link works once, for "
        f"{VERIFY_EMAIL_DAYS} days):\n\n{link(settings, '/verify-email/' + token)}\n\n"
        "If you did not ask for this, ignore this message.\n"
    )
    confirm = mail.AccountMail(user.email, "Confirm your email address", text, "Confirm my address")
    return Outgoing(mailbox, confirm)


async def verify_email(session: AsyncSession, token: str, *, origin: Origin | None = None) -> User:
    found, user = await spend(session, token, VERIFY_EMAIL)
    if (found.email or "").lower() != user.email.lower():
        raise AccountTokenInvalid("This link was for another address; ask for a new one.")
    user.email_verified_at = datetime.now(UTC)
    await accounts.record_user_event(session, "auth.email_verified", user, origin=origin)
    return user
