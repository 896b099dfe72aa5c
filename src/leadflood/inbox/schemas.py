"""The inbox's API contracts: threads, the messages of a thread with their classification, and
what a person changes (assignee, state, unread, a reply, a corrected label)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from leadflood.inbox.rules.result import (
    AUTO_REPLY_LABELS,
    BOUNCE_LABELS,
    COMPLAINT_LABELS,
    REPLY_LABELS,
    WARNING_LABELS,
    Kind,
)
from leadflood.models import MessageStatus, ThreadState
from leadflood.schemas import Read, Strict

# The labels a person may give each kind (the rules' own vocabulary, docs/inbox-rules.md).
LABELS: dict[str, tuple[str | None, ...]] = {
    "reply": REPLY_LABELS,
    "auto_reply": AUTO_REPLY_LABELS,
    "bounce": BOUNCE_LABELS,
    "bounce_warning": WARNING_LABELS,
    "unsubscribe": (None,),
    "complaint": COMPLAINT_LABELS,
}


class ThreadRead(Read):
    id: uuid.UUID
    subject: str
    state: ThreadState
    unread: bool
    kind: str | None
    label: str | None
    lead_id: uuid.UUID | None
    mailbox_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    sequence_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    last_message_at: datetime
    last_inbound_at: datetime | None
    created_at: datetime
    # Who the conversation is with (from its lead).
    lead_email: str | None = None
    lead_name: str | None = None
    company_name: str | None = None
    # The start of the latest message's text, either direction.
    preview: str | None = None


class ClassificationRead(BaseModel):
    """What the rules (or a person) made of an inbound message; `corrected_by`/`corrected_at`
    when a person set it, `previous` then keeps what the rules had concluded."""

    kind: str
    label: str | None = None
    version: str | None = None
    evidence: list[str] = []
    bounce_type: str | None = None
    effects: list[str] = []
    previous: dict[str, Any] | None = None
    corrected_by: uuid.UUID | None = None
    corrected_at: datetime | None = None


class ThreadMessage(Read):
    id: uuid.UUID
    direction: Literal["inbound", "outbound"]
    status: MessageStatus
    from_address: str | None
    to_address: str
    subject: str
    body_text: str
    message_id: str | None
    in_reply_to: str | None
    send_after: datetime
    sent_at: datetime | None
    error: str | None
    enrollment_id: uuid.UUID | None
    created_at: datetime
    classification: ClassificationRead | None = None

    @model_validator(mode="before")
    @classmethod
    def _classification(cls, data: Any) -> Any:
        """From a `Message` row: its stored classification JSON and who corrected it."""
        stored = getattr(data, "classification", None)
        if data is None or isinstance(data, dict) or not isinstance(stored, dict):
            return data
        found = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        found["classification"] = ClassificationRead(
            kind=str(stored.get("kind") or "reply"),
            label=stored.get("label"),
            version=stored.get("version"),
            evidence=[str(e) for e in stored.get("evidence") or []],
            bounce_type=stored.get("bounce_type"),
            effects=[str(e) for e in stored.get("effects") or []],
            previous=stored.get("previous"),
            corrected_by=getattr(data, "corrected_by", None),
            corrected_at=getattr(data, "corrected_at", None),
        )
        return found


class ThreadDetail(ThreadRead):
    """A thread with its whole history, oldest first, both directions."""

    messages: list[ThreadMessage] = []


class ThreadUpdate(Strict):
    """Only the fields given change; `assignee_id: null` unassigns."""

    assignee_id: uuid.UUID | None = None
    state: ThreadState | None = None
    unread: bool | None = None

    @model_validator(mode="after")
    def _no_null_state(self) -> ThreadUpdate:
        for name in ("state", "unread"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ReplyRequest(Strict):
    body: str = Field(min_length=1, max_length=100_000)
    # "Re: <the thread's subject>" when left out.
    subject: str | None = Field(None, min_length=1, max_length=500)


# Every label of LABELS, spelled out so the API contract lists them (a test keeps them equal).
Label = Literal[
    "interested", "not_interested", "referral", "question", "other",
    "out_of_office", "left_company", "ticket", "auto_reply",
    "user_unknown", "bad_domain", "mailbox_disabled", "mailbox_full", "policy",
    "message_rejected", "expired", "temporary",
    "delayed",
    "abuse", "fraud", "virus", "not-spam",
]  # fmt: skip


class ClassificationUpdate(Strict):
    """A person's correction: one of the rules' kinds and a label of that kind (see LABELS;
    `unsubscribe` has none: `null`)."""

    kind: Kind
    label: Label | None

    @model_validator(mode="after")
    def _label_of_kind(self) -> ClassificationUpdate:
        allowed = LABELS[self.kind]
        if self.label not in allowed:
            names = ", ".join(str(a) for a in allowed)
            raise ValueError(f"label must be one of {names} for kind {self.kind}")
        return self


Effect = Literal["enrollment_stopped", "enrollment_paused", "suppressed"]


class EffectInPlace(Read):
    """An effect of the former label that a correction does not undo (a stop, an out-of-office
    pause, a suppression), and how a person undoes it by hand: `page` in the app, `api` call,
    shell `command` (none for a stopped enrollment: it does not resume)."""

    effect: Effect
    text: str
    how: str
    page: str | None = None
    api: str | None = None
    command: str | None = None
    enrollment_id: uuid.UUID | None = None
    suppression_id: uuid.UUID | None = None


class CorrectionRead(ThreadMessage):
    """The corrected message, with what the correction did to outreach."""

    applied: list[str] = Field(
        default=[], description="The new label's effects, applied as the rules would have."
    )
    not_undone: list[EffectInPlace] = Field(
        default=[], description="The former label's effects that stay: undo them by hand."
    )

    @classmethod
    def of(cls, message: Any, applied: list[str], in_place: list[EffectInPlace]) -> CorrectionRead:
        found = cls.model_validate(message)
        found.applied = applied
        found.not_undone = in_place
        return found


class Reclassifying(BaseModel):
    """A re-classification queued: follow it at GET /v1/jobs/{job_id}."""

    job_id: int
    messages: int = Field(description="Inbound messages of another rules version to read.")
    version: str = Field(description="The rules version they will be classified with.")
