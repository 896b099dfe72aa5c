"""Optional TOTP two-factor sign-in (RFC 6238, pyotp): enrolment shows a QR code and the
secret, a code confirms it and yields one-time recovery codes (stored as sha256); signing in
then asks for a code, and turning it off needs one."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import service as accounts
from leadflood.auth.crypto import keyring
from leadflood.auth.errors import (
    TwoFactorAlreadyOn,
    TwoFactorCodeInvalid,
    TwoFactorNotStarted,
    TwoFactorOff,
)
from leadflood.auth.principal import Origin
from leadflood.auth.tokens import digest
from leadflood.models import User
from leadflood.settings import Settings

ISSUER = "Lead Flood"
RECOVERY_CODES = 10


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def _secret(settings: Settings, user: User) -> str:
    assert user.totp_secret is not None
    return keyring(settings).decrypt(user.totp_secret)


def provisioning_uri(settings: Settings, user: User) -> str:
    return pyotp.TOTP(_secret(settings, user)).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (for an <img>: no markup of ours to
    mark safe)."""
    svg: str = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#111827", light="#ffffff")
    return svg


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _accept_code(settings: Settings, user: User, code: str) -> bool:
    """A current code (one step of clock drift either way) not used before: each accepted
    code moves `totp_last_step` on, so a code seen over someone's shoulder cannot be replayed."""
    totp = pyotp.TOTP(_secret(settings, user))
    now = datetime.now(UTC)
    for drift in (-1, 0, 1):
        moment = now + timedelta(seconds=drift * totp.interval)
        step = totp.timecode(moment)
        if hmac.compare_digest(totp.at(moment), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


async def begin(session: AsyncSession, settings: Settings, user: User) -> tuple[str, str]:
    """A new secret, kept (encrypted) until confirmed: (the secret, its otpauth URI)."""
    if enabled(user):
        raise TwoFactorAlreadyOn()
    secret = pyotp.random_base32()
    user.totp_secret, _ = keyring(settings).encrypt(secret)
    user.totp_enabled_at = None
    await session.flush()
    return secret, provisioning_uri(settings, user)


def pending_secret(settings: Settings, user: User) -> str | None:
    """The secret of an enrolment started and not yet confirmed."""
    if user.totp_secret is None or enabled(user):
        return None
    return _secret(settings, user)


def _new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


async def confirm(
    session: AsyncSession, settings: Settings, user: User, code: str, *, origin: Origin | None
) -> list[str]:
    """Turn it on once a code from the new device checks out; the recovery codes (shown once)."""
    if enabled(user):
        raise TwoFactorAlreadyOn()
    if user.totp_secret is None:
        raise TwoFactorNotStarted()
    user.totp_last_step = None
    if not _accept_code(settings, user, _normalise(code)):
        raise TwoFactorCodeInvalid()
    codes = _new_recovery_codes()
    user.totp_recovery_codes = [digest(_normalise(c)) for c in codes]
    user.totp_enabled_at = datetime.now(UTC)
    await session.flush()
    await accounts.record_user_event(session, "auth.totp_enabled", user, origin=origin)
    return codes


def check(settings: Settings, user: User, code: str) -> bool:
    """A current TOTP code, or an unused recovery code (which this spends)."""
    wanted = _normalise(code)
    if not wanted or not enabled(user):
        return False
    if wanted.isdigit() and _accept_code(settings, user, wanted):
        return True
    hashed = digest(wanted)
    if hashed in (user.totp_recovery_codes or []):
        user.totp_recovery_codes = [c for c in user.totp_recovery_codes if c != hashed]
        return True
    return False


async def disable(
    session: AsyncSession, settings: Settings, user: User, code: str, *, origin: Origin | None
) -> None:
    if not enabled(user):
        raise TwoFactorOff()
    if not check(settings, user, code):
        await accounts.record_user_event(session, "auth.totp_disable_failed", user, origin=origin)
        raise TwoFactorCodeInvalid()
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_recovery_codes = []
    user.totp_last_step = None
    await session.flush()
    await accounts.record_user_event(session, "auth.totp_disabled", user, origin=origin)


async def reset(session: AsyncSession, user: User, *, label: str) -> bool:
    """An owner turns it off from the shell (a lost device and lost recovery codes)."""
    if user.totp_secret is None and user.totp_enabled_at is None:
        return False
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_recovery_codes = []
    user.totp_last_step = None
    await session.flush()
    await accounts.record_user_event(session, "auth.totp_disabled", user, label=label)
    return True
