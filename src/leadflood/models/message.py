from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class MessageStatus(enum.StrEnum):
    queued = "queued"  # rendered, waiting for its mailbox's turn
    sending = "sending"  # claimed by a worker; the attempt may have reached the server
    sent = "sent"
    # The attempt began and its outcome is unknown (the worker died mid-send, the connection
    # broke during DATA, and the server cannot be asked): maybe delivered, never re-sent
    # automatically; a person may queue it again.
    unconfirmed = "unconfirmed"
    failed = "failed"  # permanent failure (not the recipient's fault)
    bounced = "bounced"  # the recipient was rejected; the address is suppressed
    cancelled = "cancelled"  # the enrollment stopped before it left
    received = "received"  # inbound: it came in (see `classification`)


class Message(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One message. At most one outbound message per (enrollment, step): a unique index, not a
    hope. `channel` says which `sending.channels` Channel built it and delivers it; for email,
    `message_id` (RFC 5322) is fixed before the first attempt so a recovered `sending` message
    can be reconciled instead of re-sent."""

    __tablename__ = "messages"
    __table_args__ = (
        Index(
            "uq_messages_enrollment_step",
            "enrollment_id",
            "step_id",
            unique=True,
            postgresql_where=text("direction = 'outbound'"),
        ),
        Index(
            "ix_messages_delivery_due",
            "mailbox_id",
            "send_after",
            postgresql_where=text("status = 'queued'"),
        ),
        Index("ix_messages_mailbox_sent", "mailbox_id", "sent_at"),
        Index("ix_messages_workspace_created", "workspace_id", "created_at", "id"),
        Index("ix_messages_message_id", "message_id"),
        # Provider webhooks find our message by the id the provider gave it.
        Index(
            "ix_messages_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
        Index("ix_messages_thread", "thread_id", "created_at"),
        Index(
            "uq_messages_inbound_item",
            "inbound_item_id",
            unique=True,
            postgresql_where=text("inbound_item_id IS NOT NULL"),
        ),
        # A lead's messages: the scheduler's reply check and stopping everything for a person.
        Index("ix_messages_lead", "lead_id", "direction"),
        # /metrics counts the inbound messages of the last minutes.
        Index(
            "ix_messages_inbound_created",
            "created_at",
            postgresql_where=text("direction = 'inbound'"),
        ),
        # A mailbox's latest sends and complaints, a recipient's soft bounces (inbox effects'
        # mailbox health and soft-bounce count, migration 0028).
        Index(
            "ix_messages_mailbox_outbound",
            "mailbox_id",
            "created_at",
            postgresql_where=text("direction = 'outbound'"),
        ),
        Index(
            "ix_messages_mailbox_complaints",
            "mailbox_id",
            "created_at",
            postgresql_where=text(
                "direction = 'inbound' AND (classification ->> 'kind') = 'complaint'"
            ),
        ),
        Index(
            "ix_messages_soft_bounces",
            "workspace_id",
            text("lower(classification ->> 'recipient')"),
            "created_at",
            postgresql_where=text(
                "direction = 'inbound' AND (classification ->> 'bounce_type') = 'soft'"
            ),
        ),
        # The reconciler's look-up of messages left `sending` by a dead worker.
        Index(
            "ix_messages_sending",
            "updated_at",
            postgresql_where=text("status = 'sending'"),
        ),
        # Room in each page for the start mark's heap-only update (migration 0010).
        {"postgresql_with": {"fillfactor": 80}},
    )

    # No index of its own: ix_messages_workspace_created starts with it.
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=False
    )
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    step_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sequence_steps.id", ondelete="SET NULL")
    )
    variant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("step_variants.id", ondelete="SET NULL")
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(20), default="email")
    direction: Mapped[str] = mapped_column(String(10), default="outbound")
    status: Mapped[MessageStatus] = mapped_column(
        Enum(MessageStatus, name="message_status", native_enum=False, length=20),
        default=MessageStatus.queued,
    )
    to_address: Mapped[str] = mapped_column(String(320))
    # Where it really went (TEST_MODE redirects); NULL means `to_address`.
    delivered_to: Mapped[str | None] = mapped_column(String(1000))
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Email only (RFC 5322 Message-ID); other channels leave it empty.
    message_id: Mapped[str | None] = mapped_column(String(255))
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    send_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    sending_started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # When the provider confirmed delivery to the recipient's server (its webhook); an SMTP
    # 250 from our own relay is "sent", not delivered.
    delivered_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The inbox: the conversation a message belongs to, the raw item an inbound one came from,
    # and what the rules (or a person) made of it: {kind, label, bounce_type, recipient,
    # return_date, referral_email, version, evidence, ...}; `corrected_by`/`corrected_at` when a
    # person set the label.
    thread_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL")
    )
    inbound_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("inbound_items.id", ondelete="SET NULL")
    )
    classification: Mapped[dict[str, Any] | None]
    corrected_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    corrected_at: Mapped[datetime | None]


class DeliveryAttempt(IdMixin, WorkspaceScoped, Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("ix_delivery_attempts_message", "message_id", "attempt"),
        # /metrics counts the attempts of the last minutes.
        Index("ix_delivery_attempts_at", "at"),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    code: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    # sent | temporary | permanent | recipient_rejected | reconciled
    classification: Mapped[str] = mapped_column(String(20))
