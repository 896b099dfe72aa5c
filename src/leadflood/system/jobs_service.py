from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.scope import scoped
from leadflood.errors import NotFound
from leadflood.models import JobExecution, JobState
from leadflood.system.schemas import JobRead


class JobNotFound(NotFound):
    code = "job_not_found"
    message = "No job with this id in this workspace."


async def get(session: AsyncSession, workspace_id: uuid.UUID, job_id: int) -> JobRead:
    execution = await session.scalar(
        scoped(JobExecution, workspace_id).where(JobExecution.job_id == job_id)
    )
    if execution is None:
        raise JobNotFound()
    queue = await jobs.queue_status(session, job_id)
    state = jobs.QUEUE_STATES.get(queue or "", execution.state)
    if state == JobState.retrying:
        state = JobState.queued
    status: Any = state.value
    return JobRead(
        id=job_id,
        task=execution.task_name,
        status=status,
        attempts=execution.attempts,
        error=execution.error,
        subject_type=execution.subject_type,
        subject_id=str(execution.subject_id),
        created_at=execution.created_at,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
    )
