"""A batch understood by the pool of processes reads exactly as one understood here, in order;
a small batch stays in this process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest

from leadflood.inbox import understanding

CORPUS = Path(__file__).parent / "corpus"
AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _mails() -> list[tuple[bytes, datetime]]:
    return [(path.read_bytes(), AT) for path in sorted(CORPUS.glob("*.eml"))]


async def test_the_pool_understands_a_batch_as_this_process_does() -> None:
    mails = _mails()
    assert len(mails) >= understanding.PARALLEL_FROM
    pooled = await understanding.understand_all(mails, workers=2)
    assert pooled == understanding.understand_each(mails)
    assert [u.result.kind for u in pooled][:3] == [
        understanding.understand(raw, at).result.kind for raw, at in mails[:3]
    ]


async def test_a_small_batch_is_understood_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(workers: int) -> None:
        raise AssertionError("a small batch must not go to the pool")

    monkeypatch.setattr(understanding, "_shared_pool", no_pool)
    mails = _mails()[:3]
    assert len(mails) < understanding.PARALLEL_FROM
    assert await understanding.understand_all(mails, workers=2) == [
        understanding.understand(raw, at) for raw, at in mails
    ]


async def test_dates_in_a_time_zone_that_does_not_pickle_keep_their_day() -> None:
    class Offset(tzinfo):  # like an IMAP client's: no arguments to rebuild it with
        def __init__(self, hours: int) -> None:
            self.hours = hours

        def utcoffset(self, dt: datetime | None) -> timedelta:
            return timedelta(hours=self.hours)

        def dst(self, dt: datetime | None) -> timedelta:
            return timedelta(0)

    late = datetime(2026, 12, 7, 23, 30, tzinfo=Offset(-5))  # 8 December in UTC
    mails = [(raw, late) for raw, _ in _mails()[: understanding.PARALLEL_FROM]]
    pooled = await understanding.understand_all(mails, workers=2)
    assert pooled == understanding.understand_each(mails)
    assert {u.facts.received_at for u in pooled} == {late}
