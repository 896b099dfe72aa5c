"""Why an active enrollment is waiting, in words a customer understands: when its next step is
planned (in the lead's local time, named), and what holds back its queued message (the lead's
window, the mailbox's state, window, daily cap or gap). Pure: the read query brings the rows.

The checks follow the delivery claim's order (mailbox state, mailbox window, daily cap, then the
lead's window), so the reason shown is the one the claim would give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflood.mailboxes import capacity
from leadflood.mailboxes.windows import (
    SendingWindow,
    mailbox_window_state,
    next_open,
    resolve_zone,
    window_state,
)
from leadflood.models import EnrollmentState, Mailbox, MailboxState, MessageStatus, SequenceState
from leadflood.sequences.api_schemas import EnrollmentWaiting

_WEEK = 7


def local_label(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """`at` on the wall clock of `zone`: "Tue 09:00" within the coming week, else with the date."""
    local = at.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    if 0 <= days < _WEEK:
        return local.strftime("%a %H:%M")
    return local.strftime("%a %d %b %Y %H:%M" if abs(days) > 300 else "%a %d %b %H:%M")


@dataclass(frozen=True, slots=True)
class Clock:
    """The zone an enrollment's times are shown in, and whose zone it is."""

    zone: ZoneInfo
    of_lead: bool
    now: datetime

    @classmethod
    def of(cls, lead_zone: str | None, sequence_zone: str, now: datetime) -> Clock:
        zone = resolve_zone(lead_zone, sequence_zone or "UTC")
        return cls(zone, bool(lead_zone) and zone.key == lead_zone, now)

    @property
    def whose(self) -> str:
        return "lead's time" if self.of_lead else "sequence's time"

    def label(self, at: datetime) -> str:
        return local_label(at, self.zone, self.now)

    def stamp(self, at: datetime) -> str:
        """`at` with whose clock it is: "Tue 09:00 (lead's time, America/Chicago)"."""
        return f"{self.label(at)} ({self.whose}, {self.zone.key})"


@dataclass(frozen=True, slots=True)
class Queued:
    """The enrollment's oldest unsent message."""

    step: int | None
    status: MessageStatus
    send_after: datetime
    mailbox: Mailbox | None
    sent_today: int


def _result(
    clock: Clock,
    summary: str,
    *,
    step: int | None,
    at: datetime | None,
    reason: str | None = None,
    reason_text: str | None = None,
    until: datetime | None = None,
) -> EnrollmentWaiting:
    return EnrollmentWaiting(
        step=step,
        at=at,
        local_time=clock.label(at) if at is not None else None,
        time_zone=clock.zone.key,
        zone_of="lead" if clock.of_lead else "sequence",
        summary=summary,
        reason=reason,
        reason_text=reason_text,
        until=until,
    )


def _mailbox_zone(mailbox: Mailbox) -> ZoneInfo:
    return resolve_zone(mailbox.timezone, "UTC")


def _hold(
    queued: Queued, window: SendingWindow, clock: Clock
) -> tuple[str, str, datetime | None] | None:
    """(reason code, words, until) when the queued message cannot leave at its planned time."""
    mailbox, now = queued.mailbox, clock.now
    at = max(now, queued.send_after)
    if mailbox is None:
        return "no_mailbox", "Held: its mailbox was deleted; the sequence needs a mailbox", None
    name = mailbox.name
    if mailbox.state == MailboxState.paused:
        return "mailbox_paused", f"Held: the mailbox {name} is paused (resume it to send)", None
    if mailbox.state == MailboxState.error:
        why = f": {mailbox.last_error[:120]}" if mailbox.last_error else ""
        return "mailbox_error", f"Held: the mailbox {name} is in error{why}", None
    own = mailbox_window_state(mailbox.window, mailbox.timezone, at)
    if not own.is_open:
        mailbox_zone = _mailbox_zone(mailbox)
        opens = f"{local_label(own.opens_at, mailbox_zone, now)} {mailbox_zone.key}"
        text = f"Held: outside the sending window of {name} (opens {opens})"
        return "mailbox_window_closed", text, own.opens_at
    mailbox_zone = _mailbox_zone(mailbox)
    today = now.astimezone(mailbox_zone).date()
    cap = capacity.cap_on(mailbox, today)
    if at.astimezone(mailbox_zone).date() == today and queued.sent_today >= cap:
        midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=mailbox_zone)
        text = (
            f"Held: {name} reached its daily cap ({queued.sent_today}/{cap}); next send after "
            f"midnight {mailbox_zone.key} ({clock.label(midnight)} {clock.whose})"
        )
        return "daily_cap_reached", text, midnight.astimezone(UTC)
    lead = window_state(window, clock.zone, at)
    if not lead.is_open:
        text = f"Held: the lead's window is closed; it opens {clock.stamp(lead.opens_at)}"
        return "lead_window_closed", text, lead.opens_at
    if mailbox.next_send_at is not None and mailbox.next_send_at > at:
        until = mailbox.next_send_at
        text = f"Waiting for the gap between sends of {name} (until {clock.label(until)})"
        return "mailbox_gap", text, until
    return None


def explain(
    *,
    state: EnrollmentState,
    next_step: int,
    next_run_at: datetime | None,
    sequence_state: SequenceState,
    window: SendingWindow,
    clock: Clock,
    queued: Queued | None,
) -> EnrollmentWaiting | None:
    """What an active enrollment waits for; None for any other state."""
    if state != EnrollmentState.active:
        return None
    now = clock.now
    if queued is not None:
        step = queued.step
        label = f"Step {step}" if step is not None else "A message"
        if queued.status == MessageStatus.sending:
            return _result(clock, f"{label} is being sent now", step=step, at=queued.send_after)
        hold = _hold(queued, window, clock)
        if queued.send_after > now:
            summary = f"{label} queued for {clock.stamp(queued.send_after)}"
        else:
            summary = f"{label} queued, due now"
        if hold is None:
            return _result(clock, summary, step=step, at=queued.send_after)
        reason, text, until = hold
        return _result(
            clock, summary, step=step, at=queued.send_after,
            reason=reason, reason_text=text, until=until,
        )  # fmt: skip
    if sequence_state != SequenceState.active:
        text = f"Held: the sequence is {sequence_state.value}; activate it to go on"
        return _result(
            clock, f"Next step {next_step} not planned", step=next_step, at=None,
            reason="sequence_not_active", reason_text=text,
        )  # fmt: skip
    if next_run_at is None:
        return _result(clock, f"Next step {next_step} not planned yet", step=next_step, at=None)
    if next_run_at <= now:
        opens = window_state(window, clock.zone, now)
        if not opens.is_open:
            at = next_open(window, clock.zone, now)
            return _result(clock, f"Next step {next_step} {clock.stamp(at)}", step=next_step, at=at)
        return _result(clock, f"Next step {next_step} due now", step=next_step, at=next_run_at)
    summary = f"Next step {next_step} {clock.stamp(next_run_at)}"
    return _result(clock, summary, step=next_step, at=next_run_at)
