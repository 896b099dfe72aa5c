"""CSRF tokens for forms: a random HttpOnly cookie, and in each form an HMAC of it that a
page of another site can neither read nor compute."""

from __future__ import annotations

import hmac
import re
import secrets

from leadflood.auth.tokens import derive_key
from leadflood.settings import Settings

COOKIE = "lf_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
_VALID_COOKIE = re.compile(r"^[A-Za-z0-9_\-]{32,64}$")


def new_cookie() -> str:
    return secrets.token_urlsafe(32)


def valid_cookie(value: str | None) -> bool:
    return bool(value and _VALID_COOKIE.match(value))


def token_for(settings: Settings, cookie: str) -> str:
    return hmac.new(derive_key(settings, "csrf"), cookie.encode(), "sha256").hexdigest()


def verify(settings: Settings, cookie: str | None, token: str | None) -> bool:
    if not valid_cookie(cookie) or not token:
        return False
    assert cookie is not None
    return hmac.compare_digest(token_for(settings, cookie), token)
