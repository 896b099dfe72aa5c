"""Background work of removing people: bulk deletion of leads."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.leads import bulk
from leadflood.models import BulkAction
from leadflood.runtime import Runtime
from leadflood.suppressions import erasure


async def _plan_failed(session: AsyncSession, error: Exception, *, operation_id: str) -> None:
    await bulk.fail(session, uuid.UUID(operation_id), str(error))


@jobs.task(
    bulk.PLAN_TASKS[BulkAction.delete],
    retry=jobs.backoff(attempts=3),
    on_final_failure=_plan_failed,
)
async def bulk_delete(session: AsyncSession, runtime: Runtime, *, operation_id: str) -> None:
    await bulk.plan(session, uuid.UUID(operation_id))


@jobs.task(bulk.DELETE_CHUNK_TASK, retry=jobs.backoff(attempts=3))
async def bulk_delete_chunk(
    session: AsyncSession, runtime: Runtime, *, operation_id: str, lead_ids: list[str]
) -> None:
    await erasure.delete_chunk(session, uuid.UUID(operation_id), [uuid.UUID(x) for x in lead_ids])
