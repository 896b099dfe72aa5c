"""Running queued jobs in a test: a real worker on the test database, stopped when the queue
holds nothing due."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from leadflood import worker
from leadflood.runtime import Runtime

# Jobs due now, not counting the periodic ones (a new one is always about to be due).
_DUE = text(
    """
    SELECT count(*) FROM procrastinate_jobs
    WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
      AND id NOT IN (SELECT job_id FROM procrastinate_periodic_defers WHERE job_id IS NOT NULL)
    """
)


async def drain(runtime: Runtime, *, concurrency: int = 2, rounds: int = 20) -> None:
    """Run workers until no job is due. A worker with `wait=False` stops as soon as one of its
    slots finds the queue empty, even while another slot's job is deferring follow-up jobs,
    so it runs again while work remains."""
    for _ in range(rounds):
        await worker.run(
            runtime, concurrency=concurrency, install_signal_handlers=False, wait=False
        )
        async with runtime.db.sessions() as session:
            if not await session.scalar(_DUE):
                return


async def make_due(runtime: Runtime) -> None:
    """Skip retry back-off: every scheduled job becomes due now."""
    async with runtime.db.session() as session:
        await session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
        )


async def job_rows(runtime: Runtime) -> list[Any]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            text("SELECT id, task_name, status::text, attempts, args FROM procrastinate_jobs")
        )
        return list(rows.mappings())
