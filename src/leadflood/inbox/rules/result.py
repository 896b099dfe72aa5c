"""What the rules conclude about one inbound message, with the version that concluded it and
the evidence it rests on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

# Bump on every change that can alter a classification (see docs/inbox-rules.md): stored
# results keep the version that produced them, so re-classification knows what is stale.
RULES_VERSION = "rules-2026.12.1"

Kind = Literal["reply", "auto_reply", "bounce", "bounce_warning", "unsubscribe", "complaint"]
BounceType = Literal["hard", "soft", "block"]

REPLY_LABELS = ("interested", "not_interested", "referral", "question", "other")
AUTO_REPLY_LABELS = ("out_of_office", "left_company", "ticket", "auto_reply")
# A bounce's label names the reason behind its type (documented in docs/inbox-rules.md).
BOUNCE_LABELS = (
    "user_unknown",
    "bad_domain",
    "mailbox_disabled",
    "mailbox_full",
    "policy",
    "message_rejected",
    "expired",
    "temporary",
    "other",
)
WARNING_LABELS = ("delayed",)
# A complaint's label is the ARF Feedback-Type, lower-cased.
COMPLAINT_LABELS = ("abuse", "fraud", "virus", "not-spam", "other")


@dataclass(frozen=True)
class Classification:
    kind: Kind
    label: str | None = None
    bounce_type: BounceType | None = None
    recipient: str | None = None
    status: str | None = None
    diagnostic: str | None = None
    return_date: date | None = None
    referral_email: str | None = None
    new_contact_email: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    original_message_id: str | None = None
    version: str = RULES_VERSION
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        # `references` stays out: threading reads it from the object, the stored JSON need not.
        return {
            "kind": self.kind,
            "label": self.label,
            "bounce_type": self.bounce_type,
            "recipient": self.recipient,
            "status": self.status,
            "diagnostic": self.diagnostic,
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "referral_email": self.referral_email,
            "new_contact_email": self.new_contact_email,
            "in_reply_to": self.in_reply_to,
            "original_message_id": self.original_message_id,
            "version": self.version,
            "evidence": list(self.evidence),
        }
