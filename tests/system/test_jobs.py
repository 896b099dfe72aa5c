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
