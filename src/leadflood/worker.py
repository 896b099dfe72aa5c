"""Running the job worker of a process (`leadflood worker`, or inside `leadflood up`).

Procrastinate's worker stops itself when one of its connections fails: its LISTEN connection
or heartbeat raises, it shuts down "gracefully" (its last queries wait in the pool until the
database is back) and returns as if asked to stop. So a PostgreSQL restart used to end the
process with status 0 a few seconds later. Here a worker that stops or fails while nobody asked
it to is started again once the database answers, after a back-off; only a database that stays
away longer than WORKER_DATABASE_WAIT_SECONDS, or one that is set up wrong, ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol

import procrastinate
from procrastinate import JobContext
from procrastinate.worker import Worker

from leadflood import jobs, telemetry
from leadflood.db import outages
from leadflood.logging import get_logger
from leadflood.runtime import Runtime

log = get_logger("leadflood.worker")

# A worker that ran this long before it stopped was healthy: the next wait starts short again.
HEALTHY_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 10
# How long a query of the job queue waits for a connection. The pool reconnects on its own
# schedule (1 s, 2 s, 4 s, 8 s ...); past this wait the worker restarts on ours instead.
POOL_WAIT_SECONDS = 10
# The periodic stalled-job rescue (system/tasks.py), deferred by name: the worker sits below the
# features.
RESCUE_TASK = "system.retry_stalled_jobs"
RESCUE_LOCK = "system.stalled"


class _Worker(Protocol):
    """What is used of Procrastinate's (untyped) Worker."""

    worker_id: int | None

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class WorkerGaveUp(Exception):
    """The database stayed unreachable for longer than WORKER_DATABASE_WAIT_SECONDS."""


class Backoff:
    """0.5 s, 1 s, 2 s ... at most `cap`; `reset()` after a success."""

    def __init__(self, first: float = 0.5, cap: float = 10.0) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


async def run(
    runtime: Runtime,
    *,
    concurrency: int = 4,
    install_signal_handlers: bool = True,
    wait: bool = True,
) -> None:
    """Run jobs until stopped (SIGINT/SIGTERM when `install_signal_handlers`, or cancellation),
    riding out database outages. With `wait=False`, run once until the queue is empty; errors
    are raised as they come.

    Raises outages.DatabaseMisconfigured (wrong URL, credentials, missing tables) and
    WorkerGaveUp."""
    if not wait:
        async with _opened(runtime.db.url) as app:
            await _worker(
                app, runtime, concurrency, wait=False, signals=install_signal_handlers
            ).run()
        return
    supervisor = _Supervisor(runtime, concurrency)
    signals = _stopped_by_signals(supervisor.stop) if install_signal_handlers else None
    with signals or contextlib.nullcontext():
        await supervisor.run()


class _Supervisor:
    def __init__(self, runtime: Runtime, concurrency: int) -> None:
        self.runtime = runtime
        self.concurrency = concurrency
        self.stopping = asyncio.Event()
        self.current: _Worker | None = None

    def stop(self) -> None:
        self.stopping.set()
        if self.current is not None:
            self.current.stop()

    async def run(self) -> None:
        settings = self.runtime.settings
        limit = settings.worker_database_wait_seconds
        backoff = Backoff()
        unreachable_since: float | None = None
        # The queue's id of a worker that died with the database: its jobs still say `doing`.
        orphaned: int | None = None
        while not self.stopping.is_set():
            try:
                await outages.probe(self.runtime.db.url)
            except outages.DatabaseUnreachable as exc:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                waited = now - unreachable_since
                if waited >= limit:
                    reason = (
                        f"the database has been unreachable for {waited:.0f} s "
                        f"(WORKER_DATABASE_WAIT_SECONDS={limit:g}): {exc}"
                    )
                    log.error("worker.gave_up", reason=reason)
                    raise WorkerGaveUp(reason) from None
                delay = min(backoff.next(), limit - waited)
                log.warning(
                    "worker.waiting_for_database",
                    error=str(exc),
                    unreachable_for=round(waited, 1),
                    retry_in=round(delay, 2),
                    gives_up_in=round(limit - waited, 1),
                )
                await self._sleep(delay)
                continue
            if unreachable_since is not None:
                log.info(
                    "worker.database_back",
                    unreachable_for=round(time.monotonic() - unreachable_since, 1),
                )
                unreachable_since = None

            started = time.monotonic()
            ended = await self._run_once(orphaned)
            if ended is None:
                return  # asked to stop
            reason, lost_database, orphaned = ended
            if time.monotonic() - started >= HEALTHY_SECONDS:
                backoff.reset()
            if lost_database:
                unreachable_since = time.monotonic()
            delay = backoff.next()
            log.warning("worker.interrupted", reason=reason, restart_in=delay)
            await self._sleep(delay)

    async def _run_once(self, orphaned: int | None) -> tuple[str, bool, int | None] | None:
        """One life of a Procrastinate worker. None when it was asked to stop; else why it
        ended, whether the database was lost, and the queue id of a worker left registered
        (it could not unregister) whose jobs still need recovering."""
        worker: _Worker | None = None
        try:
            async with _opened(self.runtime.db.url) as app:
                if orphaned is not None:
                    await _recover(app, orphaned)
                    orphaned = None
                worker = _worker(app, self.runtime, self.concurrency, wait=True)
                self.current = worker
                if self.stopping.is_set():
                    return None
                log.info("worker.start", concurrency=self.concurrency)
                rescue = asyncio.create_task(_rescue_soon(app, self.runtime))
                try:
                    await worker.run()
                finally:
                    rescue.cancel()
        except Exception as exc:
            if not outages.is_outage(exc):
                raise
            reason, lost_database = f"lost the database: {outages.one_line(exc)}", True
        else:
            if self.stopping.is_set():
                return None
            # Procrastinate stops itself when its listener or heartbeat fails; its shutdown may
            # have waited in the pool until the database was back.
            reason, lost_database = "stopped by itself (one of its connections failed)", False
        finally:
            self.current = None
        left = worker.worker_id if worker is not None else None
        return reason, lost_database, left if left is not None else orphaned

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)


@contextlib.asynccontextmanager
async def _opened(url: str) -> AsyncIterator[procrastinate.App]:
    """The job app on a pool of its own, closed at the end (a pool that saw the database go
    away is not reused)."""
    connector = procrastinate.PsycopgConnector(conninfo=url, timeout=POOL_WAIT_SECONDS)
    with jobs.app.replace_connector(connector) as app:
        async with app.open_async():
            yield app


def _worker(
    app: procrastinate.App, runtime: Runtime, concurrency: int, *, wait: bool, signals: bool = False
) -> _Worker:
    settings = runtime.settings
    app.perform_import_paths()  # type: ignore[no-untyped-call]
    return Worker(
        app=app,
        concurrency=concurrency,
        additional_context={"runtime": runtime},
        install_signal_handlers=signals,
        update_heartbeat_interval=settings.worker_heartbeat_seconds,
        stalled_worker_timeout=settings.stalled_job_seconds,
        shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
        wait=wait,
        listen_notify=True,
        worker_middleware=[_traced],
    )


async def _traced(call_next: Callable[[], Awaitable[Any]], context: JobContext, _: Any) -> Any:
    """Every job runs in its own span, the child of the one that deferred it (when traced).
    The trace context is taken out of the job's arguments first: no task takes it."""
    job = context.job
    parent = job.task_kwargs.pop(telemetry.TRACE_ARG, None)
    assert job.id is not None
    with telemetry.job_span(job.task_name, job.id, job.attempts + 1, parent):
        return await call_next()


async def _rescue_soon(app: procrastinate.App, runtime: Runtime) -> None:
    """A worker often starts because another one died (a supervisor restarting it): once that
    one's heartbeat is old enough to call its jobs stalled, ask for the stalled-job rescue at
    once rather than at its next periodic run."""
    settings = runtime.settings
    await asyncio.sleep(settings.stalled_job_seconds + settings.worker_heartbeat_seconds)
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        await app.configure_task(RESCUE_TASK, queueing_lock=RESCUE_LOCK).defer_async(
            timestamp=int(time.time())
        )


async def _recover(app: procrastinate.App, worker_id: int) -> None:
    """Put back in the queue the jobs a previous life of this worker left `doing` when the
    database went away, and remove its registration. Safe: that worker's run ended, and
    Procrastinate's shutdown waits for (or cancels) its jobs before it unregisters."""
    manager = app.job_manager
    for job in await manager.list_jobs_async(status="doing", worker_id=worker_id):
        try:
            await manager.retry_job(job)
        except Exception as exc:  # finished meanwhile, or aborted
            log.warning("job.recover_failed", job_id=job.id, task=job.task_name, error=str(exc))
            continue
        log.warning("job.recovered", job_id=job.id, task=job.task_name)
    await manager.unregister_worker(worker_id)


@contextlib.contextmanager
def _stopped_by_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM stop the worker gracefully; a second one has its default effect."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def handle() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)
        log.info("worker.stopping")
        stop()

    for sig in signals:
        loop.add_signal_handler(sig, handle)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
