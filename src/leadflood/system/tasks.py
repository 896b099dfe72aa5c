from __future__ import annotations

import procrastinate
from procrastinate import JobContext

from leadflood import jobs
from leadflood.logging import get_logger
from leadflood.runtime import Runtime
from leadflood.system import service as system

log = get_logger("leadflood.system")


@jobs.app.periodic(cron="* * * * *", periodic_id="heartbeat")
@jobs.app.task(name="system.heartbeat", pass_context=True, queueing_lock="system.heartbeat")
async def heartbeat(context: JobContext, timestamp: int) -> None:
    async with context.additional_context["runtime"].db.session() as session:
        await system.beat(session)


# Every 15 seconds: a job of a dead worker is back in the queue soon after its heartbeat stops.
@jobs.app.periodic(cron="* * * * * */15", periodic_id="retry-stalled")
@jobs.app.task(name="system.retry_stalled_jobs", pass_context=True, queueing_lock="system.stalled")
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    await rescue_stalled(context.app, context.additional_context["runtime"])


async def rescue_stalled(app: procrastinate.App, runtime: Runtime) -> int:
    """Put back in the queue the jobs of workers that stopped sending heartbeats (killed,
    machine lost). The tasks are idempotent, so running them again is safe."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=runtime.settings.stalled_job_seconds
    )
    rescued = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except Exception as exc:  # one bad job (e.g. a queueing-lock clash) must not stop the rest
            log.warning(
                "job.stalled_retry_failed", job_id=job.id, task=job.task_name, error=str(exc)
            )
            continue
        rescued += 1
        log.warning("job.stalled_retried", job_id=job.id, task=job.task_name)
    await app.job_manager.prune_stalled_workers(runtime.settings.stalled_job_seconds)
    return rescued


@jobs.app.periodic(cron="17 * * * *", periodic_id="clean-up")
@jobs.app.task(name="system.clean_up", pass_context=True, queueing_lock="system.clean_up")
async def clean_up(context: JobContext, timestamp: int) -> None:
    """Hourly: expired counters, old heartbeats, and succeeded jobs past their retention (failed
    jobs stay, to be looked at and replayed)."""
    runtime = context.additional_context["runtime"]
    async with runtime.db.session() as session:
        counts = await system.clean_up(session)
    await context.app.job_manager.delete_old_jobs(
        nb_hours=runtime.settings.job_retention_days * 24, include_failed=False
    )
    log.info("system.cleaned_up", **counts)
