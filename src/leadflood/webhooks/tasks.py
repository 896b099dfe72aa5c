from __future__ import annotations

from procrastinate import JobContext

from leadflood import jobs
from leadflood.webhooks import delivery


# Every 5 seconds: the outbox is fanned out and due deliveries are sent; a retry waits for its
# `next_attempt_at`, so the schedule lives in the rows, not in the queue.
@jobs.app.periodic(cron="* * * * * */5", periodic_id="webhooks-deliver")
@jobs.app.task(name="webhooks.deliver", pass_context=True, queueing_lock="webhooks.deliver")
async def deliver(context: JobContext, timestamp: int) -> None:
    runtime = context.additional_context["runtime"]
    client = runtime.providers.webhook_client()
    while True:
        async with runtime.db.session() as session:
            await delivery.dispatch(session)
        async with runtime.db.session() as session:
            sent = await delivery.send_due(session, client)
        if sent == 0:
            break
