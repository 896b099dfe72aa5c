from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from leadflood.leads.schemas import LeadFilter
from leadflood.mailboxes.windows import InvalidWindow, SendingWindow
from leadflood.models import EnrollmentState, SequenceState
from leadflood.schemas import Read, Strict, TimeZone

DelayUnit = Literal["hours", "days", "business_days"]


class WindowIn(Strict):
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], min_length=1)
    start: str = "09:00"
    end: str = "17:00"

    @field_validator("end")
    @classmethod
    def _valid(cls, end: str, info: Any) -> str:
        data = info.data
        try:
            SendingWindow.from_dict(
                {"days": data.get("days", []), "start": data.get("start"), "end": end}
            )
        except InvalidWindow as exc:
            raise ValueError(str(exc)) from None
        return end


class StopRules(Strict):
    on_reply: bool = True
    on_bounce: bool = True
    on_unsubscribe: bool = True
    on_meeting: bool = True
    skip_if_active_elsewhere: bool = True


class SequenceCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    description: str = Field("", max_length=4000)
    timezone: TimeZone = "UTC"
    window: WindowIn = Field(default_factory=WindowIn)
    stop_rules: StopRules = Field(default_factory=StopRules)
    postal_address: str = Field("", max_length=1000)
    mailbox_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    # Entry rules: a lead scoring below `min_score`, or without a verified email when
    # `require_verified_email` is set, is skipped at enrollment (counted by reason).
    min_score: int | None = Field(None, ge=0, le=100)
    require_verified_email: bool = False


class SequenceUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=160)
    description: str | None = Field(None, max_length=4000)
    timezone: TimeZone | None = None
    window: WindowIn | None = None
    stop_rules: StopRules | None = None
    postal_address: str | None = Field(None, max_length=1000)
    mailbox_ids: list[uuid.UUID] | None = Field(None, max_length=100)
    min_score: int | None = Field(None, ge=0, le=100)  # null removes the rule
    require_verified_email: bool | None = None


class VariantIn(Strict):
    label: str | None = Field(None, pattern=r"^[A-Z]{1,8}$")
    subject: str = Field("", max_length=1000)
    body: str = Field("", max_length=50_000)
    weight: int = Field(1, ge=0, le=1000)


class StepCreate(Strict):
    position: int | None = Field(None, ge=1, description="Insert here; default: at the end.")
    channel: Literal["email"] = "email"
    delay_amount: int = Field(0, ge=0, le=365)
    delay_unit: DelayUnit = "business_days"
    variants: list[VariantIn] = Field(min_length=1, max_length=26)


class StepUpdate(Strict):
    delay_amount: int | None = Field(None, ge=0, le=365)
    delay_unit: DelayUnit | None = None
    variants: list[VariantIn] | None = Field(None, min_length=1, max_length=26)


class StepMove(Strict):
    position: int = Field(ge=1)


class VariantRead(Read):
    id: uuid.UUID
    label: str
    subject: str
    body: str
    weight: int


class StepRead(Read):
    id: uuid.UUID
    position: int
    channel: str
    delay_amount: int
    delay_unit: str
    variants: list[VariantRead]


class SequenceRead(Read):
    id: uuid.UUID
    name: str
    description: str
    state: SequenceState
    timezone: str
    window: dict[str, Any]
    stop_rules: dict[str, Any]
    postal_address: str
    min_score: int | None
    require_verified_email: bool
    created_at: datetime
    updated_at: datetime


class SequenceDetail(SequenceRead):
    steps: list[StepRead]
    mailbox_ids: list[uuid.UUID]


class Transition(Strict):
    state: SequenceState


class EnrollRequest(Strict):
    """Exactly one source: `lead_ids`, `filter` or `search_run_id`."""

    lead_ids: list[uuid.UUID] | None = Field(None, max_length=100_000)
    filter: LeadFilter | None = None
    search_run_id: uuid.UUID | None = None


class EnrollResult(BaseModel):
    enrolled: int
    skipped: dict[str, int]


class EnrollmentRead(Read):
    id: uuid.UUID
    sequence_id: uuid.UUID
    lead_id: uuid.UUID
    state: EnrollmentState
    stop_reason: str | None
    next_step: int
    next_run_at: datetime | None
    mailbox_id: uuid.UUID | None
    last_sent_at: datetime | None
    stopped_at: datetime | None
    created_at: datetime


class EnrollmentAction(Strict):
    action: Literal["pause", "resume", "stop"]
    enrollment_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)


class BulkResult(BaseModel):
    changed: int


class PlannedStep(BaseModel):
    position: int
    step_id: uuid.UUID
    variant: str
    send_at: datetime
    local_time: str
    timezone: str
    subject: str
    body: str


class SequenceStats(BaseModel):
    enrollments: dict[str, int]
    messages: dict[str, int]
    unsent: int
    finished: bool
