"""A mailbox's own sending window (`Mailbox.window` in `Mailbox.timezone`): whether it is open at
an instant, when it next opens and when it closes — what the scheduler and the delivery claim
need to keep every send from a mailbox inside its window (invariant 4)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflood.mailboxes.windows import (
    DEFAULT_WINDOW,
    SendingWindow,
    WindowState,
    closes_at,
    is_open,
    mailbox_window,
    mailbox_window_state,
    next_open,
    window_state,
)
from tests.mailboxes.test_windows import EVERY_DAY, NY, instants, utc, windows, zones

WEEKDAYS = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


@settings(max_examples=300, deadline=None)
@given(window=windows(), zone=zones, at=instants)
@example(window=SendingWindow(EVERY_DAY, time(1, 30), time(2, 30)), zone=NY, at=utc(2024, 11, 3, 5))
@example(window=SendingWindow(EVERY_DAY, time(0, 30), time(1, 30)), zone=NY, at=utc(2024, 11, 3, 5))
@example(window=SendingWindow(EVERY_DAY, time(1), time(2, 30)), zone=NY, at=utc(2024, 3, 10, 6, 30))
def test_the_window_stays_open_until_it_closes(
    window: SendingWindow, zone: ZoneInfo, at: datetime
) -> None:
    at = next_open(window, zone, at)
    end = closes_at(window, zone, at)
    assert end.tzinfo is UTC
    assert end > at
    assert not is_open(window, zone, end)
    assert is_open(window, zone, end - timedelta(microseconds=1))
    # Bounds and offsets are whole minutes: a closed minute inside would show on this grid.
    probe = at
    while probe < end:
        assert is_open(window, zone, probe), probe
        probe += timedelta(minutes=1)


EARLY = SendingWindow(EVERY_DAY, time(1, 30), time(2, 30))
NIGHT = SendingWindow(EVERY_DAY, time(0, 30), time(2, 30))
SHORT = SendingWindow(EVERY_DAY, time(1), time(2, 30))


@pytest.mark.parametrize(
    ("window", "at", "expected"),
    [
        # Fall back 02:00 EDT -> 01:00 EST: wall time leaves a 01:30-02:30 window at the change...
        (EARLY, utc(2024, 11, 3, 5, 45), utc(2024, 11, 3, 6)),
        # ...while a 00:30-02:30 one is lived on: it closes at 02:30 EST, 2h30 of wall time later.
        (NIGHT, utc(2024, 11, 3, 5, 15), utc(2024, 11, 3, 7, 30)),
        # Spring forward 02:00 EST -> 03:00 EDT jumps over a 02:30 end: closed at the change.
        (SHORT, utc(2024, 3, 10, 6, 30), utc(2024, 3, 10, 7)),
        # An ordinary weekday: 17:00 in New York.
        (DEFAULT_WINDOW, utc(2024, 11, 4, 15, 30), utc(2024, 11, 4, 22)),
    ],
)
def test_closes_at_examples(window: SendingWindow, at: datetime, expected: datetime) -> None:
    assert closes_at(window, NY, at) == expected


def test_closes_at_refuses_a_closed_instant() -> None:
    with pytest.raises(ValueError, match="not open"):
        closes_at(DEFAULT_WINDOW, NY, utc(2024, 11, 2, 12))  # a Saturday


@settings(max_examples=200, deadline=None)
@given(window=windows(), zone=zones, at=instants)
def test_window_state_agrees_with_is_open_and_next_open(
    window: SendingWindow, zone: ZoneInfo, at: datetime
) -> None:
    state = window_state(window, zone, at)
    assert state.is_open == is_open(window, zone, at)
    assert state.opens_at == next_open(window, zone, at)
    if state.is_open:
        assert state.closes_at == closes_at(window, zone, at)
    else:
        assert state.closes_at is None


@given(at=instants, zone=zones)
def test_no_window_is_always_open(at: datetime, zone: ZoneInfo) -> None:
    assert window_state(None, zone, at) == WindowState(is_open=True, opens_at=at, closes_at=None)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"days": [0], "start": "18:00", "end": "09:00"},  # overnight: not usable
        {"days": "weekdays", "start": "09:00", "end": "17:00"},
    ],
)
def test_a_mailbox_without_a_usable_window_has_none(data: dict[str, object] | None) -> None:
    assert mailbox_window(data) is None
    state = mailbox_window_state(data, "Europe/Berlin", utc(2024, 11, 2, 3))
    assert state.is_open and state.closes_at is None


def test_a_mailbox_window_is_read_in_the_mailboxs_zone() -> None:
    # Monday 2024-11-04 07:30 UTC is 08:30 in Berlin: closed until 09:00 Berlin (08:00 UTC).
    state = mailbox_window_state(WEEKDAYS, "Europe/Berlin", utc(2024, 11, 4, 7, 30))
    assert state == WindowState(is_open=False, opens_at=utc(2024, 11, 4, 8), closes_at=None)
    # The same instant in New York (02:30) waits longer: 09:00 EST is 14:00 UTC.
    assert mailbox_window_state(WEEKDAYS, "America/New_York", utc(2024, 11, 4, 7, 30)).opens_at == (
        utc(2024, 11, 4, 14)
    )
    # Open at 16:00 Berlin, closing at 17:00 Berlin (16:00 UTC).
    state = mailbox_window_state(WEEKDAYS, "Europe/Berlin", utc(2024, 11, 4, 15))
    assert state == WindowState(
        is_open=True, opens_at=utc(2024, 11, 4, 15), closes_at=utc(2024, 11, 4, 16)
    )


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus_Mons"])
def test_an_unknown_mailbox_zone_is_read_as_utc(zone: str | None) -> None:
    state = mailbox_window_state(WEEKDAYS, zone, utc(2024, 11, 4, 8, 30))
    assert state.opens_at == utc(2024, 11, 4, 9)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        mailbox_window_state(WEEKDAYS, "UTC", datetime(2024, 11, 4, 9))
    with pytest.raises(ValueError, match="aware"):
        window_state(None, ZoneInfo("UTC"), datetime(2024, 11, 4, 9))


@settings(max_examples=100, deadline=None)
@given(
    days=st.frozensets(st.integers(0, 6), min_size=1),
    zone=st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles"]),
    at=instants,
)
def test_a_mailbox_never_opens_outside_its_window(
    days: frozenset[int], zone: str, at: datetime
) -> None:
    data = {"days": sorted(days), "start": "08:00", "end": "18:30"}
    state = mailbox_window_state(data, zone, at)
    local = state.opens_at.astimezone(ZoneInfo(zone))
    assert local.weekday() in days and time(8) <= local.time() < time(18, 30)
    assert state.opens_at >= at
