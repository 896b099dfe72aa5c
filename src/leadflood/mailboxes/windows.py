"""Sending windows in a lead's local time (and a mailbox's own window in its zone), and delays
between steps: pure functions, used by the scheduler when it queues a message and by the
delivery claim when it sends one.

A window is a set of weekdays and a half-open span of wall-clock time `[start, end)` on each of
those days. Every instant is judged by the wall clock it shows in the lead's zone, so across a DST
change a window opens at the first instant whose local time is inside it: a 02:30 start on a
spring-forward day (02:00 -> 03:00) opens at 03:00, and a 01:00-01:30 window on a fall-back day
is open twice. Overnight windows (end <= start) are not supported: use two windows instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DelayUnit = Literal["hours", "days", "business_days"]

_SAMPLE_STEP = timedelta(hours=1)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SEGMENTS = 64
_WEEKEND = frozenset({5, 6})


class InvalidWindow(ValueError):
    """A window definition cannot be used (bad days, overnight span, no days to send on)."""


@dataclass(frozen=True, slots=True)
class SendingWindow:
    days: frozenset[int]  # 0 = Monday .. 6 = Sunday
    start: time
    end: time

    def __post_init__(self) -> None:
        if not isinstance(self.days, frozenset) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in self.days
        ):
            raise InvalidWindow("days must be a frozenset of integers 0 (Monday) to 6 (Sunday)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidWindow("window times are local wall-clock times without a zone")
        if self.end <= self.start:
            raise InvalidWindow("the window must end after it starts (overnight is not supported)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": sorted(self.days),
            "start": _format_time(self.start),
            "end": _format_time(self.end),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SendingWindow:
        days = data.get("days")
        if not isinstance(days, list | tuple | set | frozenset):
            raise InvalidWindow("days must be a list of integers 0 (Monday) to 6 (Sunday)")
        return cls(
            days=frozenset(days),
            start=_parse_time(data.get("start")),
            end=_parse_time(data.get("end")),
        )


DEFAULT_WINDOW = SendingWindow(days=frozenset(range(5)), start=time(9), end=time(17))


def window_or_default(data: Mapping[str, Any] | None) -> SendingWindow:
    """A sequence's stored window; none (or an unusable one) means DEFAULT_WINDOW."""
    if not data:
        return DEFAULT_WINDOW
    try:
        return SendingWindow.from_dict(data)
    except InvalidWindow:
        return DEFAULT_WINDOW


def _format_time(value: time) -> str:
    if value.second == 0 and value.microsecond == 0:
        return value.isoformat(timespec="minutes")
    return value.isoformat()


def _parse_time(value: object) -> time:
    if not isinstance(value, str):
        raise InvalidWindow("window times must be strings such as '09:00'")
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise InvalidWindow(f"not a time of day: {value!r}") from None
    if parsed.tzinfo is not None:
        raise InvalidWindow("window times are local wall-clock times without a zone")
    return parsed


def resolve_zone(lead_tz: str | None, fallback_tz: str) -> ZoneInfo:
    """The lead's zone when it names a real IANA zone, else the fallback (which must be valid)."""
    if lead_tz:
        try:
            return ZoneInfo(lead_tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(fallback_tz)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def is_open(window: SendingWindow, zone: ZoneInfo, at: datetime) -> bool:
    _require_aware(at, "at")
    local = at.astimezone(zone)
    return local.weekday() in window.days and window.start <= local.time() < window.end


def _first_open_wall(window: SendingWindow, wall: datetime) -> datetime:
    """The earliest naive wall-clock time >= `wall` inside the window, ignoring zone changes."""
    if wall.weekday() in window.days:
        if window.start <= wall.time() < window.end:
            return wall
        if wall.time() < window.start:
            return datetime.combine(wall.date(), window.start)
    day = wall.date()
    for _ in range(7):
        day += timedelta(days=1)
        if day.weekday() in window.days:
            return datetime.combine(day, window.start)
    raise InvalidWindow("the window has no days to send on")


def _next_transition(zone: ZoneInfo, after: datetime, until: datetime) -> datetime | None:
    """The first instant in (after, until] where the zone's UTC offset changes, if any.

    Offsets are sampled hourly and the change is then bisected to the second (tz transitions
    fall on whole seconds); two transitions that cancel out within one hour would be missed,
    which no real zone does."""
    base = _offset(zone, after)
    lo = after
    while lo < until:
        hi = min(lo + _SAMPLE_STEP, until)
        if _offset(zone, hi) != base:
            lo_s = (lo - _EPOCH) // _SECOND
            hi_s = -((_EPOCH - hi) // _SECOND)
            while hi_s - lo_s > 1:
                mid = (lo_s + hi_s) // 2
                if _offset(zone, _EPOCH + mid * _SECOND) == base:
                    lo_s = mid
                else:
                    hi_s = mid
            return max(_EPOCH + hi_s * _SECOND, after)
        lo = hi
    return None


def next_open(window: SendingWindow, zone: ZoneInfo, after: datetime) -> datetime:
    """The earliest aware-UTC instant >= `after` at which the window is open."""
    _require_aware(after, "after")
    if not window.days:
        raise InvalidWindow("the window has no days to send on")
    cursor = after.astimezone(UTC)
    # Between two transitions the offset is fixed and wall time moves with UTC, so the first
    # open wall time gives the answer unless the zone changes offset before reaching it.
    for _ in range(_MAX_SEGMENTS):
        offset = _offset(zone, cursor)
        wall = (cursor + offset).replace(tzinfo=None)
        candidate = (_first_open_wall(window, wall) - offset).replace(tzinfo=UTC)
        transition = _next_transition(zone, cursor, candidate)
        if transition is None:
            return candidate
        cursor = transition
    raise InvalidWindow("the window does not open in this time zone")


def plan_send_at(window: SendingWindow, zone: ZoneInfo, not_before: datetime) -> datetime:
    return next_open(window, zone, not_before)


def closes_at(window: SendingWindow, zone: ZoneInfo, at: datetime) -> datetime:
    """The first instant after `at` at which the window is closed, for an `at` inside it (aware
    UTC). Across a DST change the wall clock may jump out of the window (it closes at the
    change) or back into it (it stays open until the repeated wall time reaches the end)."""
    _require_aware(at, "at")
    if not is_open(window, zone, at):
        raise ValueError("the window is not open at this instant")
    cursor = at.astimezone(UTC)
    for _ in range(_MAX_SEGMENTS):
        local = cursor.astimezone(zone)
        # Between two transitions the offset is fixed: the wall clock reaches the end at
        # cursor + (end - wall time), unless the zone changes offset first.
        wall = local.replace(tzinfo=None)
        end = cursor + (datetime.combine(wall.date(), window.end) - wall)
        transition = _next_transition(zone, cursor, end)
        if transition is None:
            return end
        if not is_open(window, zone, transition):
            return transition
        cursor = transition
    raise InvalidWindow("the window does not close in this time zone")


@dataclass(frozen=True, slots=True)
class WindowState:
    """Whether sending is allowed at an instant, and when that changes (aware UTC)."""

    is_open: bool
    opens_at: datetime  # the instant itself when open, else the next opening
    closes_at: datetime | None  # when open: the first closed instant; None without a window


def window_state(window: SendingWindow | None, zone: ZoneInfo, at: datetime) -> WindowState:
    """`window` None means no restriction (always open)."""
    _require_aware(at, "at")
    now = at.astimezone(UTC)
    if window is None:
        return WindowState(is_open=True, opens_at=now, closes_at=None)
    if is_open(window, zone, now):
        return WindowState(is_open=True, opens_at=now, closes_at=closes_at(window, zone, now))
    return WindowState(is_open=False, opens_at=next_open(window, zone, now), closes_at=None)


def mailbox_window(data: Mapping[str, Any] | None) -> SendingWindow | None:
    """A mailbox's own window (`Mailbox.window`); unlike a sequence's, none means no window."""
    if not data:
        return None
    try:
        return SendingWindow.from_dict(data)
    except InvalidWindow:
        return None


def mailbox_window_state(
    window: Mapping[str, Any] | None, timezone: str | None, at: datetime
) -> WindowState:
    """Whether a mailbox may send at `at` by its own window (`Mailbox.window` in
    `Mailbox.timezone`, an unknown zone read as UTC), and when it next may."""
    return window_state(mailbox_window(window), resolve_zone(timezone, "UTC"), at)


def _at_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # A wall time inside a DST gap resolves (fold=0) to the instant one gap-length later,
    # e.g. 02:30 on a spring-forward day becomes 03:30 local time.
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def add_business_days(day: date, amount: int) -> date:
    """`amount` Monday-to-Friday days after `day`; 0 rolls a weekend day forward to Monday."""
    if day.weekday() in _WEEKEND:
        day += timedelta(days=7 - day.weekday())
        amount = max(amount - 1, 0)
    weeks, rest = divmod(amount, 5)
    day += timedelta(weeks=weeks)
    for _ in range(rest):
        day += timedelta(days=1)
        while day.weekday() in _WEEKEND:
            day += timedelta(days=1)
    return day


def add_delay(start: datetime, *, amount: int, unit: DelayUnit, zone: ZoneInfo) -> datetime:
    """`start` moved by a step delay; the result is aware UTC.

    Hours are elapsed time. Days and business days keep the local time of day in `zone`;
    business days skip Saturday and Sunday, so Friday + 1 is Monday and Saturday + 1 is Monday.
    """
    _require_aware(start, "start")
    if amount < 0:
        raise ValueError("a delay cannot be negative")
    if unit == "hours":
        return start.astimezone(UTC) + timedelta(hours=amount)
    local = start.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if unit == "days":
        return _at_local(local.date() + timedelta(days=amount), wall, zone)
    if unit == "business_days":
        return _at_local(add_business_days(local.date(), amount), wall, zone)
    raise ValueError(f"unknown delay unit: {unit!r}")


def jitter_seconds(key: str, max_seconds: int) -> int:
    """A stable pseudo-random delay in [0, max_seconds] for `key` (a retry gets the same one)."""
    if max_seconds < 0:
        raise ValueError("max_seconds cannot be negative")
    digest = hashlib.blake2b(f"jitter:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (max_seconds + 1)
