from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base


class Heartbeat(Base):
    """One row per minute in which a worker ran `system.heartbeat`: the minute is the
    dedupe key, so many workers or a re-run never add a second row."""

    __tablename__ = "system_heartbeats"

    minute: Mapped[datetime] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(200))
    beat_at: Mapped[datetime]


class Breaker(Base):
    """A circuit breaker per provider and account (a mailbox, a workspace's key), shared by
    every worker: closed (calls go through), open (calls fail fast until `opened_until`),
    half_open (one probe call is out; `opened_until` is its lease)."""

    __tablename__ = "breakers"
    __table_args__ = (CheckConstraint("state IN ('closed', 'open', 'half_open')", name="state"),)

    provider: Mapped[str] = mapped_column(String(60), primary_key=True)
    account: Mapped[str] = mapped_column(String(120), primary_key=True)
    state: Mapped[str] = mapped_column(String(12), default="closed")
    failures: Mapped[int] = mapped_column(default=0)
    opened_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
