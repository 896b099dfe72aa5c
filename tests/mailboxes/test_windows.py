from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflood.mailboxes.windows import (
    DEFAULT_WINDOW,
    InvalidWindow,
    SendingWindow,
    add_business_days,
    add_delay,
    is_open,
    jitter_seconds,
    next_open,
    plan_send_at,
    resolve_zone,
)

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
    "UTC",
]
NY = ZoneInfo("America/New_York")
EVERY_DAY = frozenset(range(7))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _minute_time(minute: int) -> time:
    return time(minute // 60, minute % 60)


@st.composite
def windows(draw: st.DrawFn) -> SendingWindow:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start, end = sorted(draw(st.lists(st.integers(0, 1439), min_size=2, max_size=2, unique=True)))
    return SendingWindow(days=days, start=_minute_time(start), end=_minute_time(end))


# Half of the instants fall in the months where the listed zones change offset, so that
# DST transitions land between `after` and the next opening often.
instants = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
    st.builds(
        datetime,
        year=st.integers(1990, 2060),
        month=st.sampled_from([3, 4, 9, 10, 11]),
        day=st.integers(1, 28),
        hour=st.integers(0, 23),
        minute=st.integers(0, 59),
        second=st.integers(0, 59),
    ),
).map(lambda dt: dt.replace(tzinfo=UTC))
zones = st.sampled_from(ZONES).map(ZoneInfo)


@settings(max_examples=300, deadline=None)
@given(window=windows(), zone=zones, after=instants)
@example(window=SendingWindow(EVERY_DAY, time(2, 30), time(5)), zone=NY, after=utc(2024, 3, 10, 5))
@example(
    window=SendingWindow(EVERY_DAY, time(0, 30), time(1, 30)),
    zone=NY,
    after=utc(2024, 11, 3, 5, 45),
)
@example(
    window=SendingWindow(frozenset({6}), time(2, 0), time(2, 50)),
    zone=ZoneInfo("Pacific/Chatham"),
    after=utc(2024, 9, 28, 12),
)
def test_next_open_is_the_first_open_instant(
    window: SendingWindow, zone: ZoneInfo, after: datetime
) -> None:
    result = next_open(window, zone, after)
    assert result.tzinfo is UTC
    assert result >= after
    assert is_open(window, zone, result)
    assert result == after or not is_open(window, zone, result - timedelta(microseconds=1))
    # Window bounds and offsets are whole minutes, so every open stretch lasts at least a minute
    # and a one-minute grid from `after` would hit one before `result` if it existed.
    assert result - after <= timedelta(days=8)
    probe = after
    while probe < result:
        assert not is_open(window, zone, probe), probe
        probe += timedelta(minutes=1)


@pytest.mark.parametrize(
    ("zone", "window", "after", "expected"),
    [
        # New York springs forward 02:00 -> 03:00: a 02:30 start opens at 03:00 EDT.
        (
            NY,
            SendingWindow(EVERY_DAY, time(2, 30), time(5)),
            utc(2024, 3, 10, 5),
            utc(2024, 3, 10, 7),
        ),
        # New York falls back 02:00 EDT -> 01:00 EST: a 00:30-01:30 window reopens at once.
        (
            NY,
            SendingWindow(EVERY_DAY, time(0, 30), time(1, 30)),
            utc(2024, 11, 3, 5, 45),
            utc(2024, 11, 3, 6),
        ),
        # Berlin's gap 02:00 -> 03:00 swallows the whole 02:00-02:59 window: next day.
        (
            ZoneInfo("Europe/Berlin"),
            SendingWindow(EVERY_DAY, time(2), time(2, 59)),
            utc(2024, 3, 30, 23),
            utc(2024, 4, 1, 0),
        ),
        # Samoa skipped Friday 2011-12-30 altogether: a Friday-only window waits a week.
        (
            ZoneInfo("Pacific/Apia"),
            SendingWindow(frozenset({4}), time(9), time(17)),
            utc(2011, 12, 29, 12),
            utc(2012, 1, 5, 19),
        ),
        # Saturday in New York: Monday 09:00 EST.
        (NY, DEFAULT_WINDOW, utc(2024, 11, 2, 12), utc(2024, 11, 4, 14)),
        # Inside the window already.
        (NY, DEFAULT_WINDOW, utc(2024, 11, 4, 15, 30), utc(2024, 11, 4, 15, 30)),
        # The end is exclusive.
        (NY, DEFAULT_WINDOW, utc(2024, 11, 4, 22), utc(2024, 11, 5, 14)),
    ],
)
def test_next_open_examples(
    zone: ZoneInfo, window: SendingWindow, after: datetime, expected: datetime
) -> None:
    assert next_open(window, zone, after) == expected
    assert plan_send_at(window, zone, after) == expected


def test_a_window_without_days_raises_instead_of_looping() -> None:
    window = SendingWindow(frozenset(), time(9), time(17))
    with pytest.raises(InvalidWindow):
        next_open(window, NY, utc(2024, 1, 1))
    assert not is_open(window, NY, utc(2024, 1, 1, 15))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_open(DEFAULT_WINDOW, NY, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        is_open(DEFAULT_WINDOW, NY, datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("days", "start", "end"),
    [
        (frozenset({0}), time(17), time(9)),  # overnight
        (frozenset({0}), time(9), time(9)),
        (frozenset({7}), time(9), time(17)),
        (frozenset({-1}), time(9), time(17)),
        ({0, 1}, time(9), time(17)),
        (frozenset({0}), time(9, tzinfo=UTC), time(17)),
    ],
)
def test_invalid_windows_are_rejected(days: frozenset[int], start: time, end: time) -> None:
    with pytest.raises(InvalidWindow):
        SendingWindow(days=days, start=start, end=end)


@given(window=windows())
def test_window_dict_round_trip(window: SendingWindow) -> None:
    data = window.to_dict()
    assert data["days"] == sorted(window.days)
    assert SendingWindow.from_dict(data) == window


def test_window_from_dict_parses_and_validates() -> None:
    parsed = SendingWindow.from_dict({"days": [0, 2, 4], "start": "08:30", "end": "17:15:30"})
    assert parsed == SendingWindow(frozenset({0, 2, 4}), time(8, 30), time(17, 15, 30))
    assert parsed.to_dict() == {"days": [0, 2, 4], "start": "08:30", "end": "17:15:30"}
    for bad in (
        {"days": "mon", "start": "09:00", "end": "17:00"},
        {"days": [0], "start": "9am", "end": "17:00"},
        {"days": [0], "start": 9, "end": "17:00"},
        {"days": [0], "start": "18:00", "end": "17:00"},
        {"days": [0], "start": "09:00"},
        {"days": [0], "start": "09:00+02:00", "end": "17:00"},
    ):
        with pytest.raises(InvalidWindow):
            SendingWindow.from_dict(bad)


@pytest.mark.parametrize(
    "lead_tz", [None, "", "Mars/Olympus_Mons", "../../etc/passwd", "not a zone"]
)
def test_resolve_zone_falls_back(lead_tz: str | None) -> None:
    assert resolve_zone(lead_tz, "Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_resolve_zone_prefers_the_leads_zone() -> None:
    assert resolve_zone("Asia/Kolkata", "UTC") == ZoneInfo("Asia/Kolkata")


@given(start=instants, zone=zones, amount=st.integers(0, 60))
def test_business_days_never_land_on_a_weekend_and_grow(
    start: datetime, zone: ZoneInfo, amount: int
) -> None:
    result = add_delay(start, amount=amount, unit="business_days", zone=zone)
    later = add_delay(start, amount=amount + 1, unit="business_days", zone=zone)
    local = result.astimezone(zone)
    assert local.weekday() < 5
    # Zero rolls a weekend forward to Monday, as one business day does: growth is strict after.
    assert later > result if amount > 0 else later >= result
    # Only the repeated hour of a fall-back night (read as its first occurrence) moves back.
    assert result >= start - timedelta(hours=1)
    start_local = start.astimezone(zone)
    span = (local.date() - start_local.date()).days
    counted = [start_local.date() + timedelta(days=i) for i in range(1, span + 1)]
    expected = amount if start_local.weekday() < 5 else max(amount, 1)
    assert sum(d.weekday() < 5 for d in counted) == expected


@given(start=instants, zone=zones, amount=st.integers(0, 400))
def test_calendar_days_keep_the_local_time(start: datetime, zone: ZoneInfo, amount: int) -> None:
    result = add_delay(start, amount=amount, unit="days", zone=zone)
    start_local, local = start.astimezone(zone), result.astimezone(zone)
    assert local.date() - start_local.date() == timedelta(days=amount)
    wall = datetime.combine(local.date(), start_local.time())
    exists = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    if exists:
        assert local.time() == start_local.time()


@given(start=instants, amount=st.integers(0, 10_000))
def test_hours_are_elapsed_time(start: datetime, amount: int) -> None:
    result = add_delay(start, amount=amount, unit="hours", zone=NY)
    assert result - start == timedelta(hours=amount)


def test_business_day_examples() -> None:
    friday, saturday = date(2024, 3, 8), date(2024, 3, 9)
    assert add_business_days(friday, 1) == date(2024, 3, 11)
    assert add_business_days(friday, 5) == date(2024, 3, 15)
    assert add_business_days(saturday, 0) == date(2024, 3, 11)
    assert add_business_days(saturday, 1) == date(2024, 3, 11)
    assert add_business_days(saturday, 2) == date(2024, 3, 12)
    # Friday 10:00 in New York + 1 business day across the spring-forward Sunday.
    start = utc(2024, 3, 8, 15)
    assert add_delay(start, amount=1, unit="business_days", zone=NY) == utc(2024, 3, 11, 14)
    # Sunday 16:30 UTC is Sunday 22:00 in Kolkata: zero business days rolls to Monday 22:00.
    sunday_kolkata = utc(2024, 3, 10, 16, 30)
    kolkata = ZoneInfo("Asia/Kolkata")
    assert add_delay(sunday_kolkata, amount=0, unit="business_days", zone=kolkata) == utc(
        2024, 3, 11, 16, 30
    )


def test_delay_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_delay(utc(2024, 1, 1), amount=-1, unit="days", zone=NY)
    with pytest.raises(ValueError, match="unit"):
        add_delay(utc(2024, 1, 1), amount=1, unit="weeks", zone=NY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        add_delay(datetime(2024, 1, 1), amount=1, unit="days", zone=NY)


@given(key=st.text(), max_seconds=st.integers(0, 10**6))
def test_jitter_is_bounded_and_stable(key: str, max_seconds: int) -> None:
    value = jitter_seconds(key, max_seconds)
    assert 0 <= value <= max_seconds
    assert jitter_seconds(key, max_seconds) == value


def test_jitter_spreads_over_the_range() -> None:
    assert {jitter_seconds(f"message-{i}", 10) for i in range(500)} == set(range(11))
    with pytest.raises(ValueError):
        jitter_seconds("k", -1)
