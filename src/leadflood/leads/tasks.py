"""Background work of organizing leads: tagging and listing a large filter's leads."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.leads import bulk, organize
from leadflood.runtime import Runtime


async def _plan_failed(session: AsyncSession, error: Exception, *, operation_id: str) -> None:
    await bulk.fail(session, uuid.UUID(operation_id), str(error))


@jobs.task(bulk.ORGANIZE_TASK, retry=jobs.backoff(attempts=3), on_final_failure=_plan_failed)
async def bulk_organize(session: AsyncSession, runtime: Runtime, *, operation_id: str) -> None:
    await bulk.plan(session, uuid.UUID(operation_id))


@jobs.task(bulk.ORGANIZE_CHUNK_TASK, retry=jobs.backoff(attempts=3))
async def bulk_organize_chunk(
    session: AsyncSession, runtime: Runtime, *, operation_id: str, lead_ids: list[str]
) -> None:
    """Tag, untag, list or unlist one chunk (idempotent: a retry changes nothing twice)."""
    operation = await bulk.get_unscoped(session, uuid.UUID(operation_id))
    if operation is None:
        return
    await organize.apply_chunk(session, operation, [uuid.UUID(x) for x in lead_ids])
