"""Contracts of the sequences API that the engine's schemas do not cover: enrolling one lead,
the test send, the detailed stats and the enrollment rows with their lead."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from leadflood.errors import InvalidInput
from leadflood.schemas import Strict
from leadflood.sequences.errors import InvalidEnrollSource
from leadflood.sequences.schemas import (
    EnrollmentRead,
    EnrollRequest,
    SequenceStats,
    StepCreate,
    VariantIn,
)


class NewStep(StepCreate):
    """StepCreate whose empty `variants` is refused after the sequence is found (so another
    workspace's id answers 404, not 422)."""

    variants: list[VariantIn] = Field(max_length=26)

    def checked(self) -> StepCreate:
        if not self.variants:
            raise NoVariants()
        return StepCreate.model_validate(self.model_dump(exclude_unset=True))


class NoVariants(InvalidInput):
    code = "no_variants"
    message = "A step needs at least one variant (a subject and a body)."


class EnrollBody(EnrollRequest):
    """Exactly one source: `lead_id`, `lead_ids`, `filter` or `search_run_id`."""

    lead_id: uuid.UUID | None = None

    def as_request(self) -> EnrollRequest:
        given = [self.lead_id, self.lead_ids, self.filter, self.search_run_id]
        if sum(v is not None for v in given) != 1:
            raise InvalidEnrollSource(
                "Give exactly one of lead_id, lead_ids, filter or search_run_id."
            )
        if self.lead_id is not None:
            return EnrollRequest(lead_ids=[self.lead_id])
        return EnrollRequest(
            lead_ids=self.lead_ids, filter=self.filter, search_run_id=self.search_run_id
        )


class TestSendRequest(Strict):
    lead_id: uuid.UUID
    step: int = Field(1, ge=1, le=1000, description="The step's position (1 is the first).")
    mailbox_id: uuid.UUID


class TestSendResult(BaseModel):
    message_id: uuid.UUID
    to: str
    subject: str
    mailbox_id: uuid.UUID


class StepStats(BaseModel):
    position: int
    step_id: uuid.UUID
    messages: dict[str, int]


class SequenceReport(SequenceStats):
    enrolled: int
    stopped_by_reason: dict[str, int]
    steps: list[StepStats]


class EnrollmentWaiting(BaseModel):
    """What an active enrollment waits for: `summary` and `local_time` are in `time_zone` (the
    lead's zone, else the sequence's); `reason` is set when its queued message is held back."""

    step: int | None
    at: datetime | None
    local_time: str | None
    time_zone: str
    zone_of: Literal["lead", "sequence"]
    summary: str
    # lead_window_closed | daily_cap_reached | mailbox_paused | mailbox_error | no_mailbox |
    # mailbox_window_closed | mailbox_gap | sequence_not_active
    reason: str | None = None
    reason_text: str | None = None
    until: datetime | None = None


class EnrollmentRow(EnrollmentRead):
    lead_email: str | None = None
    lead_name: str | None = None
    # The zone the row's times are shown in (the lead's, else the sequence's).
    time_zone: str | None = None
    waiting: EnrollmentWaiting | None = None


class SequenceCounts(BaseModel):
    steps: int = 0
    enrolled: int = 0
    active: int = 0
    completed: int = 0
    stopped: int = 0
    sent: int = 0
