from __future__ import annotations

import time

from procrastinate import JobContext

from leadflood import jobs
from leadflood.logging import get_logger
from leadflood.runtime import Runtime
from leadflood.sequences import scheduler

log = get_logger("leadflood.sequences")

# One job ticks batch after batch for at most this long; the next periodic job goes on.
TICK_BUDGET_SECONDS = 4.0


# Every 5 seconds; the queueing lock keeps at most one tick waiting, and ticks that do overlap
# (a slow one, several workers) never share an enrollment (SKIP LOCKED).
@jobs.app.periodic(cron="* * * * * */5", periodic_id="sequences-tick")
@jobs.app.task(name="sequences.tick", pass_context=True, queueing_lock="sequences.tick")
async def tick(context: JobContext, timestamp: int) -> None:
    runtime = context.additional_context["runtime"]
    await run_ticks(runtime)


async def run_ticks(
    runtime: Runtime, *, budget: float = TICK_BUDGET_SECONDS
) -> scheduler.TickResult:
    settings = runtime.settings
    batch = settings.scheduler_batch_size
    total = scheduler.TickResult()
    started = time.monotonic()
    while True:
        async with runtime.db.session() as session:
            result = await scheduler.tick(session, settings, batch=batch)
        total.add(result)
        if result.claimed < batch or time.monotonic() - started > budget:
            break
    if total.claimed:
        log.info("sequences.ticked", **vars(total))
    return total
