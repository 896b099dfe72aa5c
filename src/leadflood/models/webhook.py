from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class WebhookEvent(IdMixin, WorkspaceScoped, Base):
    """The outbox of outbound webhooks: one row per event, written in the transaction of the
    change it reports (a rolled-back change leaves none), fanned out to the subscribed endpoints
    by the dispatcher, which then sets `dispatched_at`."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index(
            "ix_webhook_events_undispatched",
            "created_at",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    dispatched_at: Mapped[datetime | None]


class WebhookEndpoint(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A workspace's subscription: where to POST which event types, signed with its secret
    (kept encrypted in the secrets store, referenced by `secret_id`). Disabled by hand or after
    persistent failure (`disabled_reason`); `failing_since` starts at the first failed attempt
    after a success."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(300))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("provider_credentials.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    disabled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]


class DeliveryState(enum.StrEnum):
    pending = "pending"  # waiting for its next attempt
    succeeded = "succeeded"  # a 2xx answer
    failed = "failed"  # every attempt failed, or its endpoint was disabled or deleted


class WebhookDelivery(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One event for one endpoint: the exact body sent (the same bytes at every attempt, so the
    receiver can deduplicate on `webhook-id` = this row's `message_id`)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="SET NULL")
    )
    message_id: Mapped[str] = mapped_column(String(60))
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(server_default=func.now())
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookAttempt(IdMixin, WorkspaceScoped, Base):
    """One POST of a delivery: when, the answer's status and first bytes, how long it took, or
    why there was no answer."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    status_code: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
