from __future__ import annotations

import uuid

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.imports import pipeline as import_pipeline
from leadflood.imports.service import IMPORT_TASK
from leadflood.runtime import Runtime


async def _import_failed(session: AsyncSession, error: Exception, *, import_id: str) -> None:
    await import_pipeline.fail_in(
        session, uuid.UUID(import_id), f"{error.__class__.__name__}: {error}"
    )


# Retries resume from the last committed chunk (see import_pipeline): nothing is counted twice.
@jobs.task(
    IMPORT_TASK,
    retry=jobs.backoff(attempts=4, base=3, retry_on=(OSError, TimeoutError, OperationalError)),
    on_final_failure=_import_failed,
)
async def run_import(session: AsyncSession, runtime: Runtime, *, import_id: str) -> None:
    await import_pipeline.run(runtime.db, runtime.settings, uuid.UUID(import_id))
