"""`leadflood doctor`: the wiring checked the way an operator would check it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from leadflood.db import migrate
from leadflood.runtime import Runtime
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
        checks.append(Check("database", False, f"unreachable: {exc.__class__.__name__}: {exc}"))
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
            stale = timedelta(seconds=max(30.0, settings.worker_heartbeat_seconds * 3))
            alive = await system.live_workers(session, within=stale)
            last = await system.last_worker_heartbeat(session)
            age = f"{int((datetime.now(UTC) - last).total_seconds())} s ago" if last else "never"
            checks.append(
                Check(
                    "worker heartbeat",
                    alive > 0,
                    f"{alive} worker(s) alive, last heartbeat {age}"
                    if alive
                    else f"no live worker (last heartbeat {age}): "
                    "start `leadflood worker` or `leadflood up`",
                )
            )
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
