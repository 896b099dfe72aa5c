"""/metrics: the queue, job events, sends, replies, sync lag and breakers, read from the
database at scrape time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update

from leadflood import jobs
from leadflood.models import DeliveryAttempt, Mailbox, MailboxFolder
from leadflood.providers.base import TemporaryProviderError
from leadflood.runtime import Runtime
from leadflood.system import breakers
from tests.factories import make_lead, make_mailbox, make_workspace, queue_message


def _value(body: str, metric: str, /, **labels: str) -> float | None:
    """The sample `name{labels}` of a Prometheus text body (labels in any order)."""
    for line in body.splitlines():
        if not line.startswith((metric + "{", metric + " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if line.split("{")[0].split(" ")[0] == metric and found == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_read_the_queue_sends_syncs_and_breakers(runtime: Runtime, client) -> None:
    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        ws = await make_workspace(session, "Metrics")
        box = await make_mailbox(session, ws.id, name="Sales box", imap={"host": "imap.example"})
        lead = await make_lead(session, ws.id)
        message = await queue_message(session, runtime.settings, box, lead)
        for attempt, outcome in enumerate(("sent", "recipient_rejected", "recipient_rejected")):
            session.add(
                DeliveryAttempt(
                    workspace_id=ws.id, message_id=message.id, attempt=attempt + 1,
                    at=now - timedelta(minutes=1), classification=outcome,
                )
            )  # fmt: skip
        # Outside the window: not counted.
        session.add(
            DeliveryAttempt(
                workspace_id=ws.id, message_id=message.id, attempt=9,
                at=now - timedelta(hours=2), classification="sent",
            )
        )  # fmt: skip
        session.add(
            MailboxFolder(
                workspace_id=ws.id, mailbox_id=box.id, folder="INBOX",
                last_good_sync_at=now - timedelta(seconds=300),
            )
        )  # fmt: skip
        await jobs.defer(session, "sending.deliver_mailbox", mailbox_id=str(box.id))
    policy = breakers.Policy(failures=1)
    gate = await breakers.enter(runtime.db.engine, "resend", str(box.id), policy)
    await gate.failure(
        runtime.db.engine, TemporaryProviderError("down", provider="resend", code="503")
    )

    response = await client.get("/metrics")

    assert response.status_code == 200
    body = response.text
    assert _value(body, "leadflood_metrics_database_up") == 1
    assert _value(body, "leadflood_queue_jobs", queue="default", status="todo") == 1
    assert _value(body, "leadflood_delivery_attempts_recent", channel="email", outcome="sent") == 1
    assert (
        _value(
            body,
            "leadflood_delivery_attempts_recent",
            channel="email",
            outcome="recipient_rejected",
        )
        == 2
    )
    lag = _value(body, "leadflood_mailbox_sync_lag_seconds", mailbox=str(box.id), name="Sales box")
    assert lag is not None and 299 <= lag < 400
    assert _value(body, "leadflood_breaker_state", provider="resend", account=str(box.id)) == 2
    assert _value(body, "leadflood_breaker_failures", provider="resend", account=str(box.id)) == 1
    assert _value(body, "leadflood_workers_alive") == 0
    assert "leadflood_http_requests_total" in body

    # The breaker closes: the gauge follows.
    async with runtime.db.session() as session:
        await session.execute(update(Mailbox).values(imap=None))
    await breakers.success(runtime.db.engine, "resend", str(box.id))
    body = (await client.get("/metrics/")).text
    assert _value(body, "leadflood_breaker_state", provider="resend", account=str(box.id)) == 0
    assert (
        _value(body, "leadflood_mailbox_sync_lag_seconds", mailbox=str(box.id), name="Sales box")
        is None
    )


async def test_job_events_are_counted_by_task(runtime: Runtime, client) -> None:
    async with runtime.db.session() as session:
        job_id = await jobs.defer(session, "sending.deliver_mailbox", mailbox_id="x")
        await session.execute(
            text(
                "INSERT INTO procrastinate_events (job_id, type, at) VALUES "
                "(:j, 'started', now()), (:j, 'failed', now()), "
                "(:j, 'started', now() - interval '2 hours')"
            ),
            {"j": job_id},
        )
    body = (await client.get("/metrics")).text
    assert (
        _value(body, "leadflood_job_events_recent", task="sending.deliver_mailbox", event="started")
        == 1
    )
    assert (
        _value(body, "leadflood_job_events_recent", task="sending.deliver_mailbox", event="failed")
        == 1
    )
