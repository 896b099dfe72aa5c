"""Fixed-window counters in PostgreSQL, shared by every API process (no second datastore).

Counters are written in their own short transaction: a request that fails afterwards still
counts, which is the point for sign-in attempts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from leadflood.db.engine import Database
from leadflood.errors import RateLimited
from leadflood.models import RateLimitCounter


def _window(now: datetime, seconds: int) -> tuple[datetime, datetime]:
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
    return start, start + timedelta(seconds=seconds)


def _retry_after(end: datetime, now: datetime) -> int:
    return max(1, math.ceil((end - now).total_seconds()))


async def hit(
    db: Database, key: str, *, limit: int, window_seconds: int, now: datetime | None = None
) -> int:
    """Count one hit; raise RateLimited when it is over `limit` in the current window."""
    now = now or datetime.now(UTC)
    start, end = _window(now, window_seconds)
    statement = (
        insert(RateLimitCounter)
        .values(key=key[:200], window_start=start, hits=1, expires_at=end)
        .on_conflict_do_update(
            index_elements=[RateLimitCounter.key, RateLimitCounter.window_start],
            set_={"hits": RateLimitCounter.hits + 1},
        )
        .returning(RateLimitCounter.hits)
    )
    async with db.session() as session:
        hits = int((await session.execute(statement)).scalar_one())
    if hits > limit:
        raise RateLimited(retry_after=_retry_after(end, now))
    return hits


async def check(
    db: Database, key: str, *, limit: int, window_seconds: int, now: datetime | None = None
) -> None:
    """Raise RateLimited when `key` already reached `limit` in this window, without counting."""
    now = now or datetime.now(UTC)
    start, end = _window(now, window_seconds)
    async with db.sessions() as session:
        hits = await session.scalar(
            select(RateLimitCounter.hits).where(
                RateLimitCounter.key == key[:200], RateLimitCounter.window_start == start
            )
        )
    if hits is not None and hits >= limit:
        raise RateLimited(retry_after=_retry_after(end, now))


async def prune(db: Database, *, now: datetime | None = None) -> int:
    async with db.session() as session:
        result = await session.execute(
            delete(RateLimitCounter).where(RateLimitCounter.expires_at < (now or datetime.now(UTC)))
        )
    return int(getattr(result, "rowcount", 0) or 0)
