"""Background jobs on Procrastinate.

Tasks register on the module-level `app` with an explicit, stable name. Services defer with
`defer()`, which inserts the job on the session's own connection, inside the current
transaction: if the transaction rolls back, the job never existed.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import procrastinate
import psycopg
from procrastinate import BaseRetryStrategy, JobContext, RetryStrategy
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision
from procrastinate.sql import queries as queue_sql
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import telemetry
from leadflood.db import outages
from leadflood.logging import bound_context, get_logger
from leadflood.models import JobExecution, JobState

TASK_MODULES = [
    "leadflood.enrichment.tasks",
    "leadflood.leads.tasks",
    "leadflood.system.tasks",
    "leadflood.searches.tasks",
    "leadflood.imports.tasks",
    "leadflood.sending.tasks",
    "leadflood.suppressions.tasks",
    "leadflood.sequences.tasks",
    "leadflood.inbox.tasks",
    "leadflood.demo.tasks",
    "leadflood.webhooks.tasks",
]

app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=TASK_MODULES)

log = get_logger("leadflood.jobs")


def backoff(
    *, attempts: int, base: int = 2, retry_on: tuple[type[Exception], ...] = ()
) -> RetryStrategy:
    """`attempts` runs in all, waiting base**n seconds between them."""
    return RetryStrategy(
        max_attempts=attempts - 1,
        exponential_wait=base,
        retry_exceptions=retry_on or None,
    )


class RetryAfter(BaseRetryStrategy):
    """`attempts` runs in all for `retry_on` errors; waits the error's `retry_after` (a
    provider's Retry-After) when it has one, else base**n seconds, never more than `max_wait`."""

    def __init__(
        self,
        *,
        attempts: int,
        base: int = 2,
        retry_on: tuple[type[Exception], ...] = (),
        max_wait: float = 3600,
    ) -> None:
        self.attempts = attempts
        self.base = base
        self.retry_on = retry_on
        self.max_wait = max_wait

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= self.attempts - 1:
            return None
        if self.retry_on and not isinstance(exception, self.retry_on):
            return None
        wait = getattr(exception, "retry_after", None)
        if not isinstance(wait, int | float):
            wait = self.base ** (job.attempts + 1)
        return RetryDecision(retry_in={"seconds": math.ceil(min(max(wait, 0), self.max_wait))})


async def _driver_connection(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def defer(
    session: AsyncSession,
    task_name: str,
    *,
    workspace_id: uuid.UUID | None = None,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    queueing_lock: str | None = None,
    lock: str | None = None,
    schedule_in: dict[str, int] | None = None,
    **task_args: Any,
) -> int:
    """Defer `task_name` in the session's transaction; with a subject, link the job to its row
    (`job_executions`, shown on that row's page). Internal jobs (delivery, ticks) have none."""
    options: dict[str, Any] = {"connection": await _driver_connection(session)}
    if parent := telemetry.carrier():
        task_args[telemetry.TRACE_ARG] = parent
    if queueing_lock:
        options["queueing_lock"] = queueing_lock
    if lock:
        options["lock"] = lock
    if schedule_in:
        options["schedule_in"] = schedule_in
    job_id: int = await app.configure_task(task_name, **options).defer_async(**task_args)
    if workspace_id is not None and subject_type is not None and subject_id is not None:
        session.add(
            JobExecution(
                workspace_id=workspace_id,
                job_id=job_id,
                task_name=task_name,
                subject_type=subject_type,
                subject_id=subject_id,
            )
        )
        await session.flush()
    return job_id


async def defer_many(
    session: AsyncSession,
    task_name: str,
    args: list[dict[str, Any]],
    *,
    workspace_id: uuid.UUID,
    subject_type: str,
    subject_id: uuid.UUID,
) -> list[int]:
    """`defer` for many jobs of one task at once (one batch insert, ~15x faster), all linked to
    the same subject row, in the session's transaction."""
    if not args:
        return []
    connection = await _driver_connection(session)
    if parent := telemetry.carrier():
        args = [{**one, telemetry.TRACE_ARG: parent} for one in args]
    deferrer = app.configure_task(task_name, connection=connection)
    job_ids: list[int] = await deferrer.batch_defer_async(*args)
    session.add_all(
        JobExecution(
            workspace_id=workspace_id,
            job_id=job_id,
            task_name=task_name,
            subject_type=subject_type,
            subject_id=subject_id,
        )
        for job_id in job_ids
    )
    await session.flush()
    return job_ids


class RetryOutages(BaseRetryStrategy):
    """A job cut short because the database went away (a restart, a failover) runs again,
    whatever its own strategy says, up to `attempts` runs in all, waiting 1 s, 2 s, 4 s ... at
    most `max_wait`; any other error is left to `then` (None: not retried)."""

    def __init__(
        self, then: BaseRetryStrategy | None = None, *, attempts: int = 20, max_wait: float = 60
    ) -> None:
        self.then = then
        self.attempts = attempts
        self.max_wait = max_wait

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if outages.is_outage(exception):
            if job.attempts >= self.attempts - 1:
                return None
            wait = min(self.max_wait, 2 ** min(job.attempts, 16))
            return RetryDecision(retry_in={"seconds": math.ceil(wait)})
        if self.then is None:
            return None
        return self.then.get_retry_decision(exception=exception, job=job)


FailureHook = Callable[..., Awaitable[None]]


def task(
    name: str,
    *,
    retry: BaseRetryStrategy | None = None,
    on_final_failure: FailureHook | None = None,
    queue: str = "default",
    **options: Any,
) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """Register `fn(session, runtime, **args)` as task `name`.

    The wrapper opens one session (committed when `fn` returns), records the attempt in
    `job_executions`, binds `job_id` and `attempt` to every log line, and when the job will
    not be retried again calls `on_final_failure(session, error, **args)` in a fresh transaction.
    A run cut short by a database outage is retried (`RetryOutages`), never final.
    """

    strategy = RetryOutages(retry)

    def decorator(fn: Callable[..., Awaitable[Any]]) -> Any:
        @app.task(name=name, retry=strategy, pass_context=True, queue=queue, **options)
        async def run(context: JobContext, /, **args: Any) -> Any:
            job = context.job
            assert job.id is not None
            attempt = job.attempts + 1
            runtime = context.additional_context["runtime"]
            db = runtime.db
            args.pop(telemetry.TRACE_ARG, None)  # read by the worker's span (worker.py)
            with bound_context(job_id=job.id, attempt=attempt, task=name):
                await _record(db, job.id, state=JobState.running, attempts=attempt, started=True)
                try:
                    async with db.session() as session:
                        result = await fn(session, runtime, **args)
                except Exception as exc:
                    final = strategy.get_retry_decision(exception=exc, job=job) is None
                    log.warning("job.failed", error=str(exc), final=final)
                    if final:
                        telemetry.report(exc)
                    if final and on_final_failure is not None:
                        async with db.session() as session:
                            await on_final_failure(session, exc, **args)
                    await _record(
                        db,
                        job.id,
                        state=JobState.failed if final else JobState.retrying,
                        error=f"{exc.__class__.__name__}: {exc}",
                        finished=final,
                    )
                    raise
                await _record(db, job.id, state=JobState.completed, error=None, finished=True)
                log.info("job.completed")
                return result

        return run

    return decorator


async def _record(
    db: Any,
    job_id: int,
    *,
    state: JobState,
    attempts: int | None = None,
    error: str | object | None = ...,
    started: bool = False,
    finished: bool = False,
) -> None:
    values: dict[str, Any] = {"state": state}
    now = datetime.now(UTC)
    if attempts is not None:
        values["attempts"] = attempts
    if error is not ...:
        values["error"] = error
    if started:
        values["started_at"] = now
    if finished:
        values["finished_at"] = now
    async with db.session() as session:
        await session.execute(
            update(JobExecution).where(JobExecution.job_id == job_id).values(**values)
        )


QUEUE_STATES = {
    "todo": JobState.queued,
    "doing": JobState.running,
    "succeeded": JobState.completed,
    "failed": JobState.failed,
    "cancelled": JobState.failed,
    "aborted": JobState.failed,
    "aborting": JobState.running,
}


async def queue_status(session: AsyncSession, job_id: int) -> str | None:
    row = (
        await session.execute(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )
    ).first()
    return None if row is None else str(row[0])


class NotRetryable(Exception):
    """The queue refused to put a failed job back."""


class QueueingLockTaken(NotRetryable):
    """A job with the same queueing lock is already waiting."""


class NoLongerFailed(NotRetryable):
    """The job is not failed (any more): another replay came first."""


async def retry_failed(session: AsyncSession, job_id: int) -> None:
    """Put a failed job back in the queue with Procrastinate's own retry (failed → todo, one
    more attempt, a `retried` event), in the session's transaction: it keeps its id, its
    arguments, its locks and its link to its row. A savepoint keeps the transaction usable when
    the queue refuses (NotRetryable)."""
    try:
        async with session.begin_nested():
            connection = await _driver_connection(session)
            await connection.execute(
                queue_sql["retry_job"],
                {
                    "job_id": job_id,
                    "retry_at": datetime.now(UTC),
                    "new_priority": None,
                    "new_queue_name": None,
                    "new_lock": None,
                },
            )
    except psycopg.errors.UniqueViolation as exc:
        raise QueueingLockTaken("a job with the same queueing lock is already waiting") from exc
    except psycopg.errors.RaiseException as exc:
        raise NoLongerFailed("the job is not failed any more") from exc
    await session.execute(
        update(JobExecution)
        .where(JobExecution.job_id == job_id)
        .values(state=JobState.queued, finished_at=None)
    )
