from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, func, text
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
