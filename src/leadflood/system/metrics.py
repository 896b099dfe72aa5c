"""The domain and worker figures of /metrics, read from PostgreSQL at scrape time.

Workers run on other machines and keep no state of their own worth scraping: the queue, the
job runs, the sends and the breakers are all in the database, so the web process reads them
when Prometheus asks (a handful of indexed queries over a short window) and every replica
answers the same. Process-local figures (HTTP requests, latency) stay in prometheus_client's
default registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.system import breakers

# Counts of recent events cover this window (the alert rules read them as rates over it).
WINDOW = timedelta(minutes=15)
BREAKER_VALUES = {breakers.CLOSED: 0, breakers.HALF_OPEN: 1, breakers.OPEN: 2}

_QUEUE = text(
    "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing') GROUP BY 1, 2"
)
_JOB_EVENTS = text(
    """
    SELECT j.task_name, e.type::text, count(*)
    FROM procrastinate_events AS e JOIN procrastinate_jobs AS j ON j.id = e.job_id
    WHERE e.at > :since AND e.type IN ('started', 'succeeded', 'failed', 'deferred_for_retry')
    GROUP BY 1, 2
    """
)
_ATTEMPTS = text(
    """
    SELECT m.channel, a.classification, count(*)
    FROM delivery_attempts AS a JOIN messages AS m ON m.id = a.message_id
    WHERE a.at > :since GROUP BY 1, 2
    """
)
_REPLIES = text(
    "SELECT channel, count(*) FROM messages "
    "WHERE direction = 'inbound' AND created_at > :since GROUP BY 1"
)
_SYNC = text(
    """
    SELECT m.id::text, m.name, min(f.last_good_sync_at)
    FROM mailboxes AS m JOIN mailbox_folders AS f ON f.mailbox_id = m.id
    WHERE m.imap IS NOT NULL GROUP BY m.id
    """
)
_WORKERS = text(
    "SELECT count(*) FILTER (WHERE last_heartbeat > :alive), max(last_heartbeat) "
    "FROM procrastinate_workers"
)


async def collect(
    session: AsyncSession, *, stale_after: timedelta, now: datetime | None = None
) -> list[Metric]:
    now = now or datetime.now(UTC)
    since = {"since": now - WINDOW}
    window = f"in the last {int(WINDOW.total_seconds() // 60)} minutes"

    queue = GaugeMetricFamily(
        "leadflood_queue_jobs", "Jobs waiting (todo) or running (doing), by queue",
        labels=["queue", "status"],
    )  # fmt: skip
    for name, status, count in await session.execute(_QUEUE):
        queue.add_metric([name, status], count)

    runs = GaugeMetricFamily(
        "leadflood_job_events_recent",
        f"Job events by task {window}: started, succeeded, failed (final), deferred_for_retry",
        labels=["task", "event"],
    )
    for task, event, count in await session.execute(_JOB_EVENTS, since):
        runs.add_metric([task, event], count)

    workers = GaugeMetricFamily("leadflood_workers_alive", "Workers with a recent heartbeat")
    heartbeat = GaugeMetricFamily(
        "leadflood_worker_heartbeat_age_seconds", "Age of the freshest worker heartbeat"
    )
    alive, last = (await session.execute(_WORKERS, {"alive": now - stale_after})).one()
    workers.add_metric([], alive or 0)
    if last is not None:
        heartbeat.add_metric([], max(0.0, (now - last).total_seconds()))

    attempts = GaugeMetricFamily(
        "leadflood_delivery_attempts_recent",
        f"Send attempts by channel and outcome {window} (sent, temporary, recipient_rejected "
        "= bounced, permanent, mailbox_error, unconfirmed)",
        labels=["channel", "outcome"],
    )
    for channel, outcome, count in await session.execute(_ATTEMPTS, since):
        attempts.add_metric([channel, outcome], count)

    replies = GaugeMetricFamily(
        "leadflood_inbound_messages_recent",
        f"Inbound messages (replies, bounces, auto-replies) by channel {window}",
        labels=["channel"],
    )
    for channel, count in await session.execute(_REPLIES, since):
        replies.add_metric([channel], count)

    lag = GaugeMetricFamily(
        "leadflood_mailbox_sync_lag_seconds",
        "Seconds since the last good sync of a mailbox's least recent folder",
        labels=["mailbox", "name"],
    )
    for mailbox_id, name, last_good in await session.execute(_SYNC):
        if last_good is not None:
            lag.add_metric([mailbox_id, name], max(0.0, (now - last_good).total_seconds()))

    state = GaugeMetricFamily(
        "leadflood_breaker_state",
        "Circuit breaker per provider and account: 0 closed, 1 half_open, 2 open",
        labels=["provider", "account"],
    )
    failures = GaugeMetricFamily(
        "leadflood_breaker_failures",
        "Temporary failures in a row recorded by a breaker",
        labels=["provider", "account"],
    )
    for row in await breakers.all_states(session):
        state.add_metric([row.provider, row.account], BREAKER_VALUES.get(row.state, 0))
        failures.add_metric([row.provider, row.account], row.failures)

    return [queue, runs, workers, heartbeat, attempts, replies, lag, state, failures]


class _Snapshot(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def render(families: Iterable[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)
