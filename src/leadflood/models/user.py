from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    """A person who signs in. Users are global; what they may see comes from memberships."""

    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email", func.lower(text("email")), unique=True),)

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    email_verified_at: Mapped[datetime | None]
    # Two-factor sign-in: the TOTP secret encrypted with the credentials keyring, set at enrolment
    # and kept only once confirmed (`totp_enabled_at`); recovery codes are sha256 digests, each
    # removed when used.
    totp_secret: Mapped[str | None] = mapped_column(String(500))
    totp_enabled_at: Mapped[datetime | None]
    totp_recovery_codes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # The time step of the last code accepted: a code seen once is refused after (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class AccountToken(IdMixin, Base):
    """A single-use, expiring token mailed to a user or handed to a half-finished sign-in:
    `password_reset`, `verify_email`, `sign_in_challenge` (password proven, TOTP code due).
    Only its sha256 is stored."""

    __tablename__ = "account_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address a `verify_email` token proves (a changed email needs a new proof).
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
