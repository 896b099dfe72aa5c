from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from leadflood.models import Heartbeat
from leadflood.system import service as system


async def test_heartbeat_writes_one_row_per_minute(runtime) -> None:
    now = datetime(2026, 1, 5, 10, 30, 5, tzinfo=UTC)
    async with runtime.db.session() as session:
        await system.beat(session, now=now)
        await system.beat(session, now=now + timedelta(seconds=40))
        await system.beat(session, now=now + timedelta(seconds=70))
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Heartbeat)) == 2
        assert await system.last_worker_heartbeat(session) == now + timedelta(seconds=70)


def test_every_deferred_task_name_is_registered() -> None:
    from leadflood import jobs
    from leadflood.leads import service as leads

    jobs.app.perform_import_paths()
    assert leads.ENRICH_TASK in jobs.app.tasks
    assert {"system.heartbeat", "system.retry_stalled_jobs"} <= set(jobs.app.tasks)
    periodic = {p.periodic_id for p in jobs.app.periodic_registry.periodic_tasks.values()}
    assert {"heartbeat", "retry-stalled"} <= periodic


async def test_clean_up_removes_expired_counters_and_old_heartbeats_only(runtime) -> None:
    from leadflood import jobs
    from leadflood.models import RateLimitCounter

    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    async with runtime.db.session() as session:
        await system.beat(session, now=now - timedelta(days=2))
        await system.beat(session, now=now - timedelta(minutes=5))
        session.add_all(
            [
                RateLimitCounter(
                    key="login:a", window_start=now - timedelta(hours=2), hits=3,
                    expires_at=now - timedelta(hours=1),
                ),
                RateLimitCounter(
                    key="login:b", window_start=now, hits=1, expires_at=now + timedelta(minutes=1)
                ),
            ]
        )  # fmt: skip
    async with runtime.db.session() as session:
        counts = await system.clean_up(session, now=now)
    assert counts == {
        "webhook_deliveries": 0,
        "rate_limit_counters": 1,
        "heartbeats": 1,
        "idempotency_keys": 0,
    }
    async with runtime.db.sessions() as session:
        assert (await session.scalars(select(RateLimitCounter.key))).all() == ["login:b"]
        assert await system.last_worker_heartbeat(session) == now - timedelta(minutes=5)
    jobs.app.perform_import_paths()
    periodic = {p.periodic_id for p in jobs.app.periodic_registry.periodic_tasks.values()}
    assert "clean-up" in periodic
