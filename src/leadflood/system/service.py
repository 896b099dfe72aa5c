"""Health of the installation: database, queue, workers, migrations, providers."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.models import (
    IDEMPOTENCY_KEPT,
    Heartbeat,
    IdempotencyKey,
    RateLimitCounter,
    WebhookDelivery,
    WebhookEvent,
)


async def beat(session: AsyncSession, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    await session.execute(
        insert(Heartbeat)
        .values(minute=minute, worker=socket.gethostname(), beat_at=now)
        .on_conflict_do_nothing(index_elements=[Heartbeat.minute])
    )


HEARTBEAT_KEPT = timedelta(days=1)
WEBHOOK_HISTORY_KEPT = timedelta(days=30)


async def clean_up(session: AsyncSession, *, now: datetime | None = None) -> dict[str, int]:
    """Rows that only grow: expired rate-limit windows, heartbeats older than a day,
    Idempotency-Keys older than 24 hours, and outbound webhook deliveries (with their attempts)
    and dispatched events older than 30 days (a pending delivery stays)."""
    now = now or datetime.now(UTC)
    counters = await session.scalars(
        delete(RateLimitCounter)
        .where(RateLimitCounter.expires_at < now)
        .returning(RateLimitCounter.key)
    )
    beats = await session.scalars(
        delete(Heartbeat).where(Heartbeat.minute < now - HEARTBEAT_KEPT).returning(Heartbeat.minute)
    )
    keys = await session.scalars(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at < now - IDEMPOTENCY_KEPT)
        .returning(IdempotencyKey.id)
    )
    old = now - WEBHOOK_HISTORY_KEPT
    deliveries = await session.scalars(
        delete(WebhookDelivery)
        .where(WebhookDelivery.created_at < old, WebhookDelivery.state != "pending")
        .returning(WebhookDelivery.id)
    )
    webhook_deliveries = len(deliveries.all())
    await session.execute(
        delete(WebhookEvent).where(
            WebhookEvent.created_at < old, WebhookEvent.dispatched_at.is_not(None)
        )
    )
    return {
        "webhook_deliveries": webhook_deliveries,
        "rate_limit_counters": len(counters.all()),
        "heartbeats": len(beats.all()),
        "idempotency_keys": len(keys.all()),
    }


async def last_worker_heartbeat(session: AsyncSession) -> datetime | None:
    """The freshest sign of life of any worker: the queue's own worker heartbeats (every few
    seconds, removed on a clean stop) and the per-minute `system.heartbeat` job."""
    live = await session.scalar(text("SELECT max(last_heartbeat) FROM procrastinate_workers"))
    beat_at = await session.scalar(select(func.max(Heartbeat.beat_at)))
    stamps = [stamp for stamp in (live, beat_at) if stamp is not None]
    return max(stamps) if stamps else None


async def live_workers(session: AsyncSession, *, within: timedelta) -> int:
    count = await session.scalar(
        text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - :within"),
        {"within": within},
    )
    return int(count or 0)


@dataclass
class Readiness:
    db_ok: bool
    last_heartbeat: datetime | None
    worker_alive: bool

    @property
    def ready(self) -> bool:
        """What `/ready` answers 200 for: the database answers and a worker beat lately. A
        database no worker ever ran on is not ready either: nothing would send."""
        return self.db_ok and self.worker_alive

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "degraded",
            "db": "ok" if self.db_ok else "fail",
            "worker": {
                "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
                "alive": self.worker_alive,
            },
        }


async def readiness(db: Any, *, stale_after: timedelta, timeout: float = 3.0) -> Readiness:
    try:
        async with asyncio.timeout(timeout), db.sessions() as session:
            await session.execute(text("SELECT 1"))
            last = await last_worker_heartbeat(session)
            alive = await live_workers(session, within=stale_after) > 0
    except Exception:
        return Readiness(db_ok=False, last_heartbeat=None, worker_alive=False)
    return Readiness(db_ok=True, last_heartbeat=last, worker_alive=alive)
