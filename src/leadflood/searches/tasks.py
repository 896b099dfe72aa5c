from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.icps.service import RESCORE_BEST_FIT_TASK, RESCORE_TASK
from leadflood.leads import scoring
from leadflood.models import Icp
from leadflood.providers.base import ProviderError, TemporaryProviderError
from leadflood.runtime import Runtime
from leadflood.searches import runner as search_runs
from leadflood.searches.service import SEARCH_TASK

ATTEMPTS = 4


def _describe(error: Exception) -> str:
    if isinstance(error, ProviderError):
        return f"{error.provider} ({error.code or 'error'}): {error}"
    return f"{error.__class__.__name__}: {error}"


async def _run_failed(session: AsyncSession, error: Exception, *, run_id: str) -> None:
    await search_runs.note_error(session, uuid.UUID(run_id), _describe(error), final=True)


@jobs.task(
    SEARCH_TASK,
    retry=jobs.RetryAfter(attempts=ATTEMPTS, retry_on=(TemporaryProviderError,)),
    on_final_failure=_run_failed,
)
async def search_run(session: AsyncSession, runtime: Runtime, *, run_id: str) -> None:
    try:
        await search_runs.execute(runtime, uuid.UUID(run_id))
    except TemporaryProviderError as exc:
        # Visible on the run while the job waits for its next attempt.
        async with runtime.db.session() as own:
            await search_runs.note_error(
                own, uuid.UUID(run_id), f"{_describe(exc)}; retrying", final=False
            )
        raise


@jobs.task(RESCORE_TASK, retry=jobs.backoff(attempts=3, retry_on=(OSError,)))
async def rescore_icp(session: AsyncSession, runtime: Runtime, *, icp_id: str) -> None:
    icp = await session.get(Icp, uuid.UUID(icp_id))
    if icp is None:
        return
    after: uuid.UUID | None = None
    while True:
        # One transaction per batch: a million leads never sit in one.
        async with runtime.db.session() as batch:
            _, after = await scoring.rescore_icp(batch, icp.workspace_id, icp.id, after=after)
        if after is None:
            return


@jobs.task(RESCORE_BEST_FIT_TASK, retry=jobs.backoff(attempts=3, retry_on=(OSError,)))
async def rescore_best_fit(session: AsyncSession, runtime: Runtime, *, workspace: str) -> None:
    """Score every lead without an ICP of its own against the workspace's ICPs, in batches."""
    workspace_id = uuid.UUID(workspace)
    after: uuid.UUID | None = None
    while True:
        async with runtime.db.session() as batch:
            _, after = await scoring.rescore_icp(batch, workspace_id, None, after=after)
        if after is None:
            return
