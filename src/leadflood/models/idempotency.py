from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Enum, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped

# How long a key is remembered; the hourly `system.clean_up` job deletes older ones.
IDEMPOTENCY_KEPT = timedelta(hours=24)


class IdempotencyState(enum.StrEnum):
    # Claimed by a request; the request holding the row's lock is running. Unlocked, it is a
    # request that rolled back or died before its work committed: the next retry runs again.
    in_flight = "in_flight"
    # The work committed (in the same transaction as this state); the response is being kept.
    executed = "executed"
    completed = "completed"


class IdempotencyKey(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One `Idempotency-Key` a workspace sent with a POST, the request it was first used for,
    and that request's response, replayed to every retry for 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_workspace_key", "workspace_id", "key", unique=True),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    # sha256 of the method, the path with its query and the body (JSON in a canonical form).
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[IdempotencyState] = mapped_column(
        Enum(IdempotencyState, name="idempotency_state", native_enum=False, length=20),
        default=IdempotencyState.in_flight,
    )
    executed_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_headers: Mapped[dict[str, Any] | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
