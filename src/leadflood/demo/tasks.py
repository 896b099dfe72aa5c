"""Demo jobs: the sandbox's simulated recipients answer what the demo sent (`answers`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from procrastinate import JobContext

from leadflood import jobs
from leadflood.demo import answers
from leadflood.logging import get_logger
from leadflood.runtime import Runtime

log = get_logger("leadflood.demo")


@jobs.app.periodic(cron="* * * * * */15", periodic_id="demo-sandbox-answers")
@jobs.app.task(name="demo.sandbox_answers", pass_context=True, queueing_lock="demo.sandbox_answers")
async def sandbox_answers_task(context: JobContext, timestamp: int) -> None:
    runtime: Runtime = context.additional_context["runtime"]
    await answer_due(runtime)


async def answer_due(runtime: Runtime, now: datetime | None = None) -> int:
    """Ingest the simulated answers that are due, in one transaction; how many were stored."""
    delay = timedelta(seconds=runtime.settings.sandbox_answer_delay_seconds)
    async with runtime.db.session() as session:
        stored = await answers.answer_sent(session, now=now or datetime.now(UTC), delay=delay)
    if stored:
        log.info("demo.sandbox_answered", stored=stored)
    return stored
