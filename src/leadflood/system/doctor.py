"""`leadflood doctor`: the wiring checked the way an operator would check it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db import migrate
from leadflood.models import Mailbox, MailboxState
from leadflood.runtime import Runtime
from leadflood.settings import Settings, unreachable_reason
from leadflood.system import breakers
from leadflood.system import service as system


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def run(runtime: Runtime) -> list[Check]:
    settings = runtime.settings
    checks = [
        Check(
            "settings",
            True,
            f"environment={settings.environment}, "
            + (
                "embedded PostgreSQL in " + str(settings.data_dir)
                if settings.embedded
                else "DATABASE_URL"
            ),
        )
    ]
    try:
        async with runtime.db.sessions() as session:
            version = await session.scalar(text("SHOW server_version"))
    except Exception as exc:
        where = f"in {settings.data_dir}" if settings.embedded else "at DATABASE_URL"
        checks.append(
            Check(
                "database",
                False,
                f"unreachable: {exc.__class__.__name__}: {exc} — start PostgreSQL {where} or "
                "correct the URL; meanwhile workers wait for it (WORKER_DATABASE_WAIT_SECONDS)",
            )
        )
        return checks
    checks.append(Check("database", True, f"PostgreSQL {version}"))

    current, head = migrate.current_and_head(runtime.db.url)
    checks.append(
        Check(
            "migrations",
            current == head,
            f"at head {head}"
            if current == head
            else f"at {current}, head is {head}: run `leadflood db upgrade`",
        )
    )
    async with runtime.db.sessions() as session:
        queue = await session.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        checks.append(
            Check(
                "job queue schema",
                bool(queue),
                "present" if queue else "missing: run `leadflood db upgrade`",
            )
        )
        if queue:
            checks.append(await _worker_check(session, settings.worker_stale_after))
        imap = await _imap_check(session, settings.imap_poll_seconds)
        if imap is not None:
            checks.append(imap)
        links = await _links_check(session, settings)
        if links is not None:
            checks.append(links)
        checks.append(await _breaker_check(session))
    for provider, configured in runtime.providers.configured().items():
        in_use = provider == settings.enricher
        if in_use or configured:
            checks.append(
                Check(
                    f"provider {provider}",
                    configured,
                    "credentials present"
                    if configured
                    else f"{provider.upper()}_API_KEY is not set",
                )
            )
    checks.append(
        Check(
            "test mode",
            not settings.test_mode or bool(settings.test_recipients),
            (
                f"ON: every message goes to {', '.join(settings.test_recipients)}"
                if settings.test_recipients
                else "ON but TEST_RECIPIENTS is empty"
            )
            if settings.test_mode
            else "off: messages go to real recipients",
        )
    )
    return checks


async def _worker_check(session: AsyncSession, stale_after: timedelta) -> Check:
    alive = await system.live_workers(session, within=stale_after)
    last = await system.last_worker_heartbeat(session)
    if alive:
        age = int((datetime.now(UTC) - last).total_seconds()) if last else 0
        return Check(
            "worker heartbeat", True, f"{alive} worker(s) alive, last heartbeat {age} s ago"
        )
    if last is None:
        return Check(
            "worker heartbeat",
            False,
            "no worker has ever run on this database: start `leadflood worker` "
            "(or `leadflood up`, which runs one)",
        )
    age = int((datetime.now(UTC) - last).total_seconds())
    return Check(
        "worker heartbeat",
        False,
        f"no worker alive: the last heartbeat was {age} s ago (a worker counts as alive for "
        f"{stale_after.total_seconds():g} s, WORKER_STALE_SECONDS), so no job runs and nothing is "
        "sent. Read the worker's log for why it stopped, then start `leadflood worker` again "
        "(or restart `leadflood up`); run it under a supervisor that restarts it on failure",
    )


async def _breaker_check(session: AsyncSession) -> Check:
    """Provider accounts whose circuit breaker is open or probing: their calls fail fast."""
    rows = await breakers.all_states(session)
    tripped = [row for row in rows if row.state != breakers.CLOSED]
    if not tripped:
        return Check("circuit breakers", True, f"{len(rows)} provider account(s), none open")
    now = datetime.now(UTC)
    parts = []
    for row in tripped:
        left = (
            f", {int((row.opened_until - now).total_seconds())} s of cool-down left"
            if row.opened_until and row.opened_until > now
            else ""
        )
        parts.append(
            f"{row.provider} {row.account} {row.state} after {row.failures} failure(s){left}: "
            f"{row.last_error or 'no error recorded'}"
        )
    return Check(
        "circuit breakers",
        False,
        "calls to these providers pause: "
        + "; ".join(parts)
        + " — fix the provider's settings or wait out its outage; one probe call closes the "
        "breaker when it succeeds",
    )


# A mailbox whose last good sync is older than this many poll intervals (at least
# STALE_MIN_SECONDS) is stale: its syncs stopped running.
STALE_POLLS = 3
STALE_MIN_SECONDS = 600

_IMAP_STATUS = text(
    """
    SELECT m.name, m.id, m.created_at,
           coalesce((m.imap->>'poll_seconds')::int, :poll) AS poll,
           min(f.last_good_sync_at) AS last_good,
           count(f.id) AS synced_folders,
           jsonb_array_length(coalesce(m.imap->'folders', '["INBOX"]'::jsonb)) AS folders,
           string_agg(f.folder || ': ' || f.last_error, '; ' ORDER BY f.folder)
               FILTER (WHERE f.last_error IS NOT NULL) AS errors
    FROM mailboxes AS m LEFT JOIN mailbox_folders AS f ON f.mailbox_id = m.id
    WHERE m.imap IS NOT NULL
    GROUP BY m.id ORDER BY m.name
    """
)


async def _imap_check(session: AsyncSession, poll_default: int) -> Check | None:
    """Mailboxes whose replies are not being read: a failing sync, or none for too long."""
    rows = (await session.execute(_IMAP_STATUS, {"poll": poll_default})).all()
    if not rows:
        return None
    now = datetime.now(UTC)
    problems = []
    for name, mailbox_id, created_at, poll, last_good, synced, folders, errors in rows:
        limit = timedelta(seconds=max(STALE_POLLS * poll, STALE_MIN_SECONDS))
        good = "never" if last_good is None else last_good.strftime("%Y-%m-%d %H:%M UTC")
        if errors:
            problems.append(f"{name} ({mailbox_id}) failing: {errors} (last good sync {good})")
        elif (last_good is None or synced < folders) and now - created_at > limit:
            problems.append(f"{name} ({mailbox_id}) never synced: is a worker running?")
        elif last_good is not None and now - last_good > limit:
            problems.append(f"{name} ({mailbox_id}) stale: last good sync {good}")
    if not problems:
        return Check("inbox sync", True, f"{len(rows)} mailbox(es) read over IMAP, all up to date")
    return Check(
        "inbox sync",
        False,
        "replies are not being read for "
        + "; ".join(problems)
        + " — fix the IMAP settings on the mailbox page (or `leadflood mailboxes set-imap`), "
        "then `leadflood mailboxes sync ID`",
    )


async def _links_check(session: AsyncSession, settings: Settings) -> Check | None:
    """Unsubscribe links in real mail must open for the recipient: PUBLIC_URL public, https.
    Mailboxes that deliver to a local catcher (the demo) and TEST_MODE send no real mail."""
    if settings.test_mode:
        return None
    rows = await session.execute(select(Mailbox.config).where(Mailbox.state == MailboxState.active))
    real = [config for (config,) in rows if not (config or {}).get("catcher_dir")]
    if not real:
        return None
    reason = unreachable_reason(settings.public_url)
    if reason is None:
        return Check("links in email", True, f"unsubscribe links open at {settings.public_url}")
    return Check(
        "links in email",
        False,
        f"{len(real)} mailbox(es) send real mail whose unsubscribe links point at "
        f"{settings.public_url}, and {reason}: set PUBLIC_URL to the https:// address where "
        "this instance is reachable from the internet, then restart",
    )
