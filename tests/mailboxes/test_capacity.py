from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.mailboxes import capacity
from leadflood.models import Mailbox, MessageStatus
from leadflood.runtime import Runtime
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message


def _mailbox(**fields: object) -> Mailbox:
    values = {
        "daily_cap": 50,
        "warmup_enabled": False,
        "warmup_start": 10,
        "warmup_increment": 5,
        "warmup_started_on": None,
        "min_gap_seconds": 120,
        "jitter_seconds": 60,
    }
    return Mailbox(**(values | fields))


def test_warmup_ramp_grows_to_the_cap() -> None:
    start = date(2026, 3, 2)
    box = _mailbox(warmup_enabled=True, warmup_started_on=start)
    caps = [capacity.remaining_today(box, 0, start + timedelta(days=d)) for d in range(10)]
    assert caps == [10, 15, 20, 25, 30, 35, 40, 45, 50, 50]
    assert capacity.remaining_today(box, 12, start) == 0
    assert capacity.remaining_today(_mailbox(), 20, start) == 30


@settings(max_examples=200)
@given(
    cap=st.integers(0, 500),
    start=st.integers(0, 100),
    inc=st.integers(0, 50),
    days=st.integers(-5, 400),
    sent=st.integers(0, 600),
)
def test_remaining_never_exceeds_cap(cap: int, start: int, inc: int, days: int, sent: int) -> None:
    origin = date(2026, 1, 1)
    box = _mailbox(
        daily_cap=cap,
        warmup_enabled=True,
        warmup_start=start,
        warmup_increment=inc,
        warmup_started_on=origin,
    )
    left = capacity.remaining_today(box, sent, origin + timedelta(days=days))
    assert 0 <= left <= max(0, cap - sent)
    assert left <= max(0, start + inc * max(days, 0) - sent)


@settings(max_examples=200)
@given(gap=st.integers(0, 600), jitter=st.integers(0, 300), key=st.text(max_size=20))
def test_gap_is_min_plus_stable_jitter(gap: int, jitter: int, key: str) -> None:
    box = _mailbox(min_gap_seconds=gap, jitter_seconds=jitter)
    first = capacity.next_gap(box, key)
    assert first == capacity.next_gap(box, key)
    assert timedelta(seconds=gap) <= first <= timedelta(seconds=gap + jitter)


async def test_sent_today_counts_sent_and_sending_in_the_mailbox_zone(runtime: Runtime) -> None:
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Acme")
        box = await make_mailbox(
            session,
            ws.id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            timezone="America/New_York",
        )
        lead = await make_lead(session, ws.id)
        stamps = [
            (MessageStatus.sent, datetime(2026, 3, 3, 4, 59, tzinfo=UTC)),  # yesterday in NY
            (MessageStatus.sent, datetime(2026, 3, 3, 5, 1, tzinfo=UTC)),  # today in NY
            (MessageStatus.sent, datetime(2026, 3, 3, 11, 0, tzinfo=UTC)),
            (MessageStatus.sending, None),
            (MessageStatus.queued, None),
        ]
        for status, sent_at in stamps:
            message = await queue_message(session, runtime.settings, box, lead)
            message.status, message.sent_at = status, sent_at
        # An answer received in the mailbox keeps its delivery time in `sent_at`: not a send.
        answer = await queue_message(session, runtime.settings, box, lead)
        answer.direction, answer.status = "inbound", MessageStatus.received
        answer.sent_at = datetime(2026, 3, 3, 11, 30, tzinfo=UTC)
        await session.flush()
        counts = await capacity.sent_today(session, [box.id], now)
        assert counts == {box.id: 3}
