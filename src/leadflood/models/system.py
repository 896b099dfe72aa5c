from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base


class Heartbeat(Base):
    """One row per minute in which a worker ran `system.heartbeat`: the minute is the
    dedupe key, so many workers or a re-run never add a second row."""

    __tablename__ = "system_heartbeats"

    minute: Mapped[datetime] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(200))
    beat_at: Mapped[datetime]
