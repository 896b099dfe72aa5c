"""Opaque tokens (stored as sha256) and access JWTs (HS256 pinned, typed, issuer and audience
checked, short-lived)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from leadflood.auth.errors import InvalidToken, TokenExpired
from leadflood.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "leadflood-api"
TOKEN_TYPE = "access"
HEADER_TYPE = "at+jwt"
API_KEY_PREFIX = "lf_"


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def derive_key(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose, so SECRET_KEY is never used directly twice."""
    return hmac.new(settings.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def issuer(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def new_api_key() -> tuple[str, str]:
    """(the key shown once, its visible prefix)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(30)
    return key, key[:11]


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    now = now or datetime.now(UTC)
    expires = now + timedelta(minutes=settings.access_token_minutes)
    claims = {
        "iss": issuer(settings),
        "aud": AUDIENCE,
        "sub": str(user_id),
        "sid": str(session_id),
        "typ": TOKEN_TYPE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(
        claims, derive_key(settings, "jwt"), algorithm=ALGORITHM, headers={"typ": HEADER_TYPE}
    )
    return token, expires


def read_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != HEADER_TYPE or header.get("alg") != ALGORITHM:
            raise InvalidToken()
        claims = jwt.decode(
            token,
            derive_key(settings, "jwt"),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(settings),
            options={"require": ["exp", "iat", "iss", "aud", "sub", "sid", "typ"]},
        )
        if claims["typ"] != TOKEN_TYPE:
            raise InvalidToken()
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise InvalidToken() from None
