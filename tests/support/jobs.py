"""Running queued jobs in a test: a real worker on the test database, stopped when the queue
holds nothing due."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from leadflood import worker
from leadflood.runtime import Runtime


async def drain(runtime: Runtime, *, concurrency: int = 2) -> None:
    await worker.run(runtime, concurrency=concurrency, install_signal_handlers=False, wait=False)


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
