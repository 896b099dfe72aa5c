"""Running the job worker of a process (`leadflood worker`, or inside `leadflood up`)."""

from __future__ import annotations

import procrastinate

from leadflood import jobs
from leadflood.logging import get_logger
from leadflood.runtime import Runtime

log = get_logger("leadflood.worker")


async def run(
    runtime: Runtime,
    *,
    concurrency: int = 4,
    install_signal_handlers: bool = True,
    wait: bool = True,
) -> None:
    settings = runtime.settings
    connector = procrastinate.PsycopgConnector(conninfo=runtime.db.url)
    with jobs.app.replace_connector(connector) as app:
        async with app.open_async():
            log.info("worker.start", concurrency=concurrency)
            await app.run_worker_async(
                concurrency=concurrency,
                additional_context={"runtime": runtime},
                install_signal_handlers=install_signal_handlers,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.stalled_job_seconds,
                shutdown_graceful_timeout=10,
                wait=wait,
                listen_notify=True,
            )
