from __future__ import annotations

from sqlalchemy import text

from leadflood import worker
from leadflood.runtime import Runtime


async def _status(runtime: Runtime, job_id: int) -> tuple[str, int]:
    async with runtime.db.sessions() as session:
        row = (
            await session.execute(
                text("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = :id"),
                {"id": job_id},
            )
        ).one()
    return row[0], row[1]


async def test_jobs_left_doing_by_a_worker_that_lost_the_database_go_back_in_the_queue(
    runtime: Runtime,
) -> None:
    async with worker._opened(runtime.db.url) as app:
        app.perform_import_paths()
        manager = app.job_manager
        gone = await manager.register_worker()
        alive = await manager.register_worker()
        orphan = await app.configure_task("system.heartbeat").defer_async(timestamp=1)
        fetched = await manager.fetch_job(queues=None, worker_id=gone)
        assert fetched is not None and fetched.id == orphan
        other = await app.configure_task("system.clean_up").defer_async(timestamp=1)
        assert (await manager.fetch_job(queues=None, worker_id=alive)) is not None

        await worker._recover(app, gone)

    assert await _status(runtime, orphan) == ("todo", 1)
    assert (await _status(runtime, other))[0] == "doing"  # another worker's job is left alone
    async with runtime.db.sessions() as session:
        ids = set(await session.scalars(text("SELECT id FROM procrastinate_workers")))
    assert ids == {alive}


def test_backoff_doubles_to_its_cap_and_starts_again_after_a_reset() -> None:
    backoff = worker.Backoff(first=0.5, cap=10)
    assert [backoff.next() for _ in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    backoff.reset()
    assert backoff.next() == 0.5


async def test_the_trace_context_of_a_job_never_reaches_its_task() -> None:
    """A job deferred inside a traced request carries its parent's trace context; raw tasks
    (delivery, ticks) take fixed arguments, so the worker takes it out before they run."""
    from procrastinate import JobContext
    from procrastinate.jobs import Job

    from leadflood import jobs, telemetry

    job = Job(
        id=7, queue="default", lock=None, queueing_lock=None, task_name="sending.deliver",
        task_kwargs={"mailbox_id": "m1", telemetry.TRACE_ARG: {"traceparent": "00-ab-cd-01"}},
    )  # fmt: skip
    context = JobContext(app=jobs.app, job=job, start_timestamp=0.0, abort_reason=lambda: None)
    seen: dict[str, object] = {}

    async def run() -> str:
        seen.update(job.task_kwargs)
        return "ran"

    assert await worker._traced(run, context, None) == "ran"
    assert seen == {"mailbox_id": "m1"}
