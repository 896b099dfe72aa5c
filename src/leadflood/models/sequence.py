from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import Column, Enum, ForeignKey, Index, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class SequenceState(enum.StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    archived = "archived"


sequence_mailboxes = Table(
    "sequence_mailboxes",
    Base.metadata,
    Column("sequence_id", ForeignKey("sequences.id", ondelete="CASCADE"), primary_key=True),
    Column("mailbox_id", ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True),
)


class Sequence(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[SequenceState] = mapped_column(
        Enum(SequenceState, name="sequence_state", native_enum=False, length=20),
        default=SequenceState.draft,
    )
    # The fallback when a lead has no (valid) time zone of its own.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # {"days": [0..6], "start": "HH:MM", "end": "HH:MM"} in the lead's zone.
    window: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"on_reply": true, "on_bounce": true, "on_unsubscribe": true, "on_meeting": true,
    #  "skip_if_active_elsewhere": true}
    stop_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    postal_address: Mapped[str] = mapped_column(Text, default="")
    # Entry rules checked at enrollment: leads below are skipped and counted by reason.
    min_score: Mapped[int | None]
    require_verified_email: Mapped[bool] = mapped_column(default=False, server_default=false())
    steps: Mapped[list[SequenceStep]] = relationship(
        back_populates="sequence", lazy="raise", order_by="SequenceStep.position"
    )


class SequenceStep(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "sequence_steps"
    __table_args__ = (
        UniqueConstraint("sequence_id", "position", deferrable=True, initially="DEFERRED"),
    )

    sequence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    position: Mapped[int]
    channel: Mapped[str] = mapped_column(String(20), default="email")
    # Wait after the previous step (or after enrollment for the first step).
    delay_amount: Mapped[int] = mapped_column(default=0)
    delay_unit: Mapped[str] = mapped_column(String(20), default="business_days")
    sequence: Mapped[Sequence] = relationship(back_populates="steps", lazy="raise")
    variants: Mapped[list[StepVariant]] = relationship(
        back_populates="step", lazy="raise", order_by="StepVariant.label"
    )


class StepVariant(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An A/B version of a step; the first is "A". `weight` is relative."""

    __tablename__ = "step_variants"
    __table_args__ = (UniqueConstraint("step_id", "label"),)

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequence_steps.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(8), default="A")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(default=1)
    step: Mapped[SequenceStep] = relationship(back_populates="variants", lazy="raise")


Index("ix_sequence_steps_sequence", SequenceStep.sequence_id, SequenceStep.position)
