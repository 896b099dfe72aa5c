"""What a person's correction of an inbound message's label does to outreach.

The new label's effects apply in the correction's transaction, through `effects.apply`, exactly
as if the rules had concluded it (a reply stops the enrollment by the sequence's stop rules, an
opt-out suppresses the person and stops all their enrollments, a hard bounce suppresses the
address, an out-of-office pauses an active enrollment); each sentence is kept with the message
with its cause, "corrected by <person>". A label whose effect is the one already made (a reply
corrected to another reply, an unsubscribe to a complaint) applies nothing again.

The former label's effects are never undone by a correction: no suppression is lifted and no
enrollment resumed behind the person's back. `left_in_place` says which of them still hold
after a correction that moved away from them, and how a person undoes each by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.inbox import effects
from leadflood.inbox.rules import Classification
from leadflood.inbox.rules.result import BounceType
from leadflood.inbox.schemas import Effect, EffectInPlace
from leadflood.inbox.threading import Target
from leadflood.models import (
    Enrollment,
    EnrollmentState,
    Lead,
    Message,
    Sequence,
    Suppression,
    SuppressionKind,
)
from leadflood.suppressions import service as suppression

# The outcome a label has on outreach; labels of one outcome have the same effects.
Outcome = Literal[
    "reply", "opt_out", "hard_bounce", "soft_bounce", "block", "out_of_office", "left_company"
]
OUTCOMES: tuple[str, ...] = (
    "reply", "opt_out", "hard_bounce", "soft_bounce", "block", "out_of_office", "left_company",
)  # fmt: skip
# A bounce's label, as the rules give it, says its type (rules/bounces.py); "other" keeps the
# type the rules found, else it is taken as soft, as the rules take a failure of unknown
# permanence.
BOUNCE_TYPES: dict[str, BounceType] = {
    "user_unknown": "hard", "bad_domain": "hard", "mailbox_disabled": "hard",
    "mailbox_full": "soft", "expired": "soft", "temporary": "soft",
    "policy": "block", "message_rejected": "block",
}  # fmt: skip
STOPPING = ("reply", "opt_out", "hard_bounce", "left_company")
SUPPRESSING = ("opt_out", "hard_bounce", "soft_bounce")
# The stop reasons each outcome leaves on the person's enrollments (suppressions.stops).
STOP_REASONS: dict[str, tuple[str, ...]] = {
    "reply": ("replied",),
    "opt_out": ("unsubscribed", "complaint"),
    "hard_bounce": ("bounced",),
    "left_company": ("left_company",),
}


def bounce_type(label: str | None, stored: dict[str, Any]) -> BounceType:
    found = BOUNCE_TYPES.get(label or "")
    if found is not None:
        return found
    if stored.get("kind") == "bounce" and stored.get("bounce_type") in ("hard", "soft", "block"):
        kept: BounceType = stored["bounce_type"]
        return kept
    return "soft"


def outcome(kind: str | None, label: str | None, bounce: str | None = None) -> Outcome | None:
    """What a label means for outreach (None: nothing, e.g. a ticket or a delivery delay)."""
    if kind == "reply":
        return "reply"
    if kind in effects.OPT_OUTS:
        return "opt_out"
    if kind == "bounce":
        return {"hard": "hard_bounce", "soft": "soft_bounce", "block": "block"}.get(
            bounce or "", "soft_bounce"
        )  # type: ignore[return-value]
    if kind == "auto_reply" and label in ("out_of_office", "left_company"):
        return label  # type: ignore[return-value]
    return None


def outcome_of(stored: dict[str, Any]) -> Outcome | None:
    return outcome(stored.get("kind"), stored.get("label"), stored.get("bounce_type"))


async def apply(
    session: AsyncSession,
    message: Message,
    stored: dict[str, Any],
    result: Classification,
    *,
    who: str,
    now: datetime,
) -> list[str]:
    """Apply the corrected label `result` of `message` (whose classification is still `stored`)
    as the rules would have; the sentences said, each with its cause. Call it before the new
    classification is written: a soft bounce counts the recipient's earlier ones."""
    before = outcome_of(stored)
    after = outcome(result.kind, result.label, result.bounce_type)
    if after is None or after == before:
        return []
    ours = await _our_message(session, message, stored)
    target = Target(
        lead_id=message.lead_id, message=ours, enrollment_id=message.enrollment_id,
        mailbox_id=message.mailbox_id, matched_by=str(stored.get("matched_by") or ""),
    )  # fmt: skip
    result = await with_recipient(session, message, result, ours)
    # An opt-out already in place is not said twice. A hard bounce still marks our message,
    # tells the webhooks and counts for the mailbox's health, as the rules' would.
    if after == "opt_out" and await _ended_already(session, message, result, ours):
        return []
    said = await effects.apply(session, message.workspace_id, target, result, now)
    return [f"{sentence} (corrected by {who})" for sentence in said]


async def with_recipient(
    session: AsyncSession, message: Message, result: Classification, ours: Message | None = None
) -> Classification:
    """A corrected bounce without the address it returns (a reply has none): the address our
    message went to, else the lead's. Kept with the classification, so that a soft bounce set
    by a person counts toward the recipient's next ones."""
    if result.kind != "bounce" or result.recipient is not None:
        return result
    if ours is None:
        ours = await _our_message(session, message, message.classification or {})
    address = ours.to_address if ours is not None else await _lead_email(session, message)
    return replace(result, recipient=address)


def classification(kind: str, label: str | None, stored: dict[str, Any]) -> Classification:
    """The corrected label as the rules would have concluded it: a bounce's type from its
    label, and the facts the rules had read (return date, recipient, status) where they fit."""
    was = stored.get("kind")
    return_date = stored.get("return_date")
    return Classification(
        kind=kind,  # type: ignore[arg-type]
        label=label,
        bounce_type=bounce_type(label, stored) if kind == "bounce" else None,
        recipient=stored.get("recipient"),
        status=stored.get("status") if was == "bounce" else None,
        diagnostic=stored.get("diagnostic") if was == "bounce" else None,
        return_date=date.fromisoformat(return_date) if return_date else None,
        version="person",
    )


async def _our_message(
    session: AsyncSession, message: Message, stored: dict[str, Any]
) -> Message | None:
    """Our outbound message the inbound one answers or returns (a bounce marks it)."""
    ids = {i for i in (message.in_reply_to, stored.get("original_message_id")) if i}
    if not ids:
        return None
    found: Message | None = await session.scalar(
        select(Message)
        .where(
            in_workspace(Message, message.workspace_id),
            Message.direction == "outbound",
            Message.message_id.in_(ids),
        )
        .order_by(Message.created_at.desc())
        .limit(1)
    )
    return found


async def _ended_already(
    session: AsyncSession, message: Message, result: Classification, ours: Message | None
) -> bool:
    """The person's address is suppressed and none of their enrollments is left to stop: the
    opt-out is in place already (nothing is applied or said twice)."""
    # The address as effects._read finds an opt-out's.
    sent = ours.to_address if ours is not None else None
    address = sent or await _lead_email(session, message) or result.recipient
    if not address:
        return False
    if not await suppression.suppressed_emails(session, message.workspace_id, [address]):
        return False
    people: list[Any] = [Enrollment.lead_id.in_(_leads_with(message, address))]
    if message.enrollment_id is not None:
        people.append(Enrollment.id == message.enrollment_id)
    live = await session.scalar(
        select(Enrollment.id)
        .where(
            in_workspace(Enrollment, message.workspace_id),
            or_(*people),
            Enrollment.state != EnrollmentState.stopped,
        )
        .limit(1)
    )
    return live is None


def _leads_with(message: Message, address: str) -> Any:
    return select(Lead.id).where(
        in_workspace(Lead, message.workspace_id),
        or_(Lead.id == message.lead_id, func.lower(Lead.email) == address.strip().lower()),
    )


async def _lead_email(session: AsyncSession, message: Message) -> str | None:
    if message.lead_id is None:
        return None
    email: str | None = await session.scalar(select(Lead.email).where(Lead.id == message.lead_id))
    return email


def moved_away(before: str | None, after: str | None) -> list[Effect]:
    """The kinds of effect of the former outcome `before` that the new one `after` does not
    have (and so leaves behind, not undone)."""
    left: list[Effect] = []
    if before in STOPPING and after not in STOPPING:
        left.append("enrollment_stopped")
    if before == "out_of_office" and after not in (*STOPPING, "out_of_office"):
        left.append("enrollment_paused")
    if before in SUPPRESSING and after not in ("opt_out", "hard_bounce"):
        left.append("suppressed")
    return left


async def left_in_place(
    session: AsyncSession, message: Message, before: str | None, after: str | None
) -> list[EffectInPlace]:
    """The effects of the former outcome `before` that still hold after a correction to
    `after`, each with how a person undoes it by hand; [] when the correction moved away from
    nothing (or what it moved away from no longer holds)."""
    kinds = moved_away(before, after)
    found: list[EffectInPlace] = []
    if "enrollment_stopped" in kinds or "enrollment_paused" in kinds:
        found += await _enrollments(session, message, before, kinds)
    if "suppressed" in kinds:
        found += await _suppressions(session, message, before)
    return found


async def _enrollments(
    session: AsyncSession, message: Message, before: str | None, kinds: list[Effect]
) -> list[EffectInPlace]:
    reasons = STOP_REASONS.get(before or "", ())
    mine = Enrollment.id == message.enrollment_id if message.enrollment_id else None
    theirs = (
        Enrollment.lead_id == message.lead_id if message.lead_id and before != "reply" else None
    )
    which = [c for c in (mine, theirs) if c is not None]
    if not which:
        return []
    rows = await session.execute(
        select(Enrollment, Sequence.name)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(in_workspace(Enrollment, message.workspace_id), or_(*which))
        .order_by(Enrollment.created_at)
    )
    found: list[EffectInPlace] = []
    for enrollment, name in rows:
        listing = f"/sequences/{enrollment.sequence_id}/enrollments?state={enrollment.state.value}"
        if (
            "enrollment_stopped" in kinds
            and enrollment.state == EnrollmentState.stopped
            and enrollment.stop_reason in reasons
        ):
            why = (enrollment.stop_reason or "").replace("_", " ")
            found.append(
                EffectInPlace(
                    effect="enrollment_stopped",
                    text=f"The enrollment in “{name}” stays stopped ({why}).",
                    how="A stopped enrollment does not resume: the lead can be enrolled in "
                    "another sequence.",
                    page=listing,
                    enrollment_id=enrollment.id,
                )
            )
        elif (
            "enrollment_paused" in kinds
            and enrollment.state == EnrollmentState.paused
            and enrollment.stop_reason == "out_of_office"
        ):
            found.append(
                EffectInPlace(
                    effect="enrollment_paused",
                    text=f"The enrollment in “{name}” stays paused (out of office) until "
                    f"{enrollment.resume_at:%Y-%m-%d}."
                    if enrollment.resume_at
                    else f"The enrollment in “{name}” stays paused (out of office).",
                    how="Resume it by hand to go on now.",
                    page=listing,
                    api=f"POST /v1/enrollments/{enrollment.id}/resume",
                    command=f"leadflood sequences enrollments resume {enrollment.id}",
                    enrollment_id=enrollment.id,
                )
            )
    return found


# The reasons the inbox suppresses with, per outcome.
_SUPPRESSED_FOR: dict[str, tuple[str, ...]] = {
    "opt_out": ("unsubscribed", "complaint"), "hard_bounce": ("bounced",),
    "soft_bounce": ("bounced",),
}  # fmt: skip


async def _suppressions(
    session: AsyncSession, message: Message, before: str | None
) -> list[EffectInPlace]:
    """The inbox's own suppressions of the person for the former outcome: not one made by hand,
    by an import or for another reason."""
    reasons = _SUPPRESSED_FOR.get(before or "", ())
    addresses = {
        a.strip().lower()
        for a in (message.from_address, await _lead_email(session, message))
        if a and a.strip()
    }
    if not addresses:
        return []
    rows = await session.scalars(
        select(Suppression)
        .where(
            Suppression.workspace_id == message.workspace_id,
            Suppression.kind == SuppressionKind.email,
            Suppression.value.in_(addresses),
            Suppression.source == effects.SOURCE,
            Suppression.reason.in_(reasons),
        )
        .order_by(Suppression.created_at)
    )
    return [
        EffectInPlace(
            effect="suppressed",
            text=f"{row.value} stays on the suppression list ({row.reason}).",
            how="Remove it from the suppression list by hand to contact them again.",
            page="/suppressions?" + urlencode({"q": row.value}),
            api=f"DELETE /v1/suppressions/{row.id}",
            command=f"leadflood suppressions remove {row.id}",
            suppression_id=row.id,
        )
        for row in rows
    ]
