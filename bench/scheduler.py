"""The scheduler tick with the same number of due enrollments among few and among many.

Two databases on the same server, measured in one run:
  1. baseline: N due enrollments (default 1,000) among 10,000;
  2. the same N due among 1,000,000 (the rest active but planned for later, or finished).
Each times `sequences.scheduler.tick` with batch = N: the claim through ix_enrollments_due with
SKIP LOCKED, every stop check, suppression, windows, mailbox rotation, rendering, unsubscribe
tokens and footers, one INSERT of N messages and one executemany of N enrollment updates.
Median of several repetitions, alternating between the two sizes so that both see the same
machine load (the due set is restored between them). Prints both, the ratio (target <= 1.5)
and the claim query's plan.

    python bench/scheduler.py [--due 1000] [--small 10000] [--large 1000000] [--repeat 7]

Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a temporary directory.
Enrollments are bulk-loaded with COPY.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
LEADS_PER_SEQUENCE = 10_000


def _copy_text(rows: Any) -> io.StringIO:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    return buffer


async def seed(url: str, *, total: int, due: int) -> dict[str, Any]:
    """A workspace, `total // 10,000` sequences over the same 10,000 leads, `total` enrollments of
    which `due` are due now (in the first, active sequence); the rest are planned later (80%),
    completed (15%) or stopped (5%)."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "TRUNCATE workspaces, leads, mailboxes, sequences, enrollments, messages, "
            "unsubscribe_tokens, suppressions CASCADE"
        )
        workspace = uuid.uuid4()
        await conn.execute(
            "INSERT INTO workspaces (id, name, slug) VALUES (%s, 'Bench', %s)",
            (workspace, f"bench-{workspace.hex[:6]}"),
        )
        lead_ids = [uuid.uuid4() for _ in range(LEADS_PER_SEQUENCE)]
        async with (
            conn.cursor() as cur,
            cur.copy(
                "COPY leads (id, workspace_id, email, first_name, company_name, timezone, "
                "source, status, custom_fields, verification_status, verification_evidence, "
                "score_breakdown) FROM STDIN"
            ) as copy,
        ):
            zones = ["America/New_York", "Europe/Berlin", "UTC", "Asia/Kolkata", "\\N"]
            for i, lead_id in enumerate(lead_ids):
                zone = zones[i % len(zones)]
                await copy.write(
                    f"{lead_id}\t{workspace}\tlead{i}@prospect{i % 500}.example\tAda{i}\t"
                    f"Company {i % 700}\t{zone}\tbench\tnew\t{{}}\tvalid\t{{}}\t[]\n"
                )
        mailboxes = [uuid.uuid4() for _ in range(4)]
        for i, mailbox in enumerate(mailboxes):
            await conn.execute(
                "INSERT INTO mailboxes (id, workspace_id, name, channel, provider, from_name, "
                "from_email, signature, config, daily_cap, min_gap_seconds, jitter_seconds, "
                '"window", timezone, warmup_enabled, warmup_start, warmup_increment, state, '
                "dns_checks) VALUES (%s, %s, 'Box', 'email', 'smtp', 'Sam', %s, '', '{}', "
                "100000, 0, 0, '{}', 'UTC', false, 10, 5, 'active', '{}')",
                (mailbox, workspace, f"sam{i}@sender.example"),
            )
        sequences = [uuid.uuid4() for _ in range(max(1, total // LEADS_PER_SEQUENCE))]
        window = '{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59:59"}'
        for n, sequence in enumerate(sequences):
            await conn.execute(
                "INSERT INTO sequences (id, workspace_id, name, description, state, timezone, "
                "\"window\", stop_rules, postal_address) VALUES (%s, %s, %s, '', %s, 'UTC', %s, "
                "'{}', 'Acme Inc, 1 Main Street, Springfield')",
                (sequence, workspace, f"S{n}", "active" if n == 0 else "paused", window),
            )
            for position in (1, 2):
                step = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO sequence_steps (id, workspace_id, sequence_id, position, "
                    "channel, delay_amount, delay_unit) VALUES (%s, %s, %s, %s, 'email', %s, "
                    "'business_days')",
                    (step, workspace, sequence, position, 0 if position == 1 else 2),
                )
                await conn.execute(
                    "INSERT INTO step_variants (id, workspace_id, step_id, label, subject, body, "
                    "weight) VALUES (%s, %s, %s, 'A', %s, %s, 1)",
                    (
                        uuid.uuid4(),
                        workspace,
                        step,
                        "Idea for {{ company_name }}" if position == 1 else "",
                        "Hi {{ first_name | default('there') }},\nA short note.\n{{ sender.name }}",
                    ),
                )
            for mailbox in mailboxes:
                await conn.execute(
                    "INSERT INTO sequence_mailboxes (sequence_id, mailbox_id) VALUES (%s, %s)",
                    (sequence, mailbox),
                )
        later = NOW + timedelta(days=30)
        async with (
            conn.cursor() as cur,
            cur.copy(
                "COPY enrollments (id, workspace_id, sequence_id, lead_id, state, next_step, "
                "next_run_at, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            k = 0
            for sequence in sequences:
                for lead_id in lead_ids:
                    if k < due:
                        state, run_at = "active", NOW - timedelta(minutes=1)
                    elif k % 20 == 0:
                        state, run_at = "stopped", None
                    elif k % 20 < 4:
                        state, run_at = "completed", None
                    else:
                        state, run_at = "active", later + timedelta(seconds=k)
                    run = "\\N" if run_at is None else run_at.isoformat()
                    created = (NOW - timedelta(hours=1)).isoformat()
                    await copy.write(
                        f"{uuid.uuid4()}\t{workspace}\t{sequence}\t{lead_id}\t{state}\t1\t"
                        f"{run}\t{created}\t{created}\n"
                    )
                    k += 1
                    if k >= total:
                        break
                if k >= total:
                    break
        await conn.execute("ANALYZE")
        count = await (await conn.execute("SELECT count(*) FROM enrollments")).fetchone()
        return {"enrollments": count[0] if count else 0}


async def reset_due(url: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("DELETE FROM messages")
        await conn.execute("DELETE FROM unsubscribe_tokens")
        await conn.execute("DELETE FROM procrastinate_jobs")
        await conn.execute(
            "UPDATE enrollments SET next_step = 1, mailbox_id = NULL, next_run_at = %s, "
            "state = 'active' WHERE updated_at >= %s",
            (NOW - timedelta(minutes=1), NOW - timedelta(minutes=5)),
        )
        await conn.execute("VACUUM ANALYZE enrollments")


async def plan_of_claim(url: str, due: int) -> str:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await (
            await conn.execute(
                "EXPLAIN SELECT id FROM enrollments WHERE state = 'active' "
                "AND next_run_at IS NOT NULL AND next_run_at <= %s ORDER BY next_run_at "
                f"LIMIT {due} FOR UPDATE SKIP LOCKED",
                (NOW,),
            )
        ).fetchall()
        await conn.rollback()
        return "\n".join("    " + r[0] for r in rows)


async def tick_once(db: Any, settings: Any, url: str, due: int) -> float:
    from leadflood.sequences import scheduler

    started = time.perf_counter()
    async with db.session() as session:
        result = await scheduler.tick(session, settings, now=NOW, batch=due)
    elapsed = time.perf_counter() - started
    if result.queued != due:
        raise SystemExit(f"expected {due} messages queued, got {result}")
    await reset_due(url)
    return elapsed


async def run(urls: dict[int, str], args: argparse.Namespace, data_dir: Path) -> None:
    from leadflood.db.engine import connect
    from leadflood.settings import load_settings

    settings = load_settings(data_dir=data_dir, log_level="error")
    dbs = {total: connect(settings, url=url) for total, url in urls.items()}
    timings: dict[int, list[float]] = {total: [] for total in urls}
    try:
        for total, url in urls.items():
            started = time.perf_counter()
            seeded = await seed(url, total=total, due=args.due)
            elapsed = time.perf_counter() - started
            print(f"seeded {seeded['enrollments']:,} enrollments (COPY) in {elapsed:.1f} s")
            await tick_once(dbs[total], settings, url, args.due)  # warm-up
        # Alternate the two so that both see the same load on the machine.
        for _ in range(args.repeat):
            for total, url in urls.items():
                timings[total].append(await tick_once(dbs[total], settings, url, args.due))
        for total, url in urls.items():
            median = statistics.median(timings[total])
            print(
                f"tick, {args.due:,} due among {total:,}: median {median * 1000:.0f} ms "
                f"(min {min(timings[total]) * 1000:.0f}, max {max(timings[total]) * 1000:.0f}; "
                f"{args.due / median:,.0f} enrollments/s)"
            )
            print(await plan_of_claim(url, args.due))
    finally:
        for db in dbs.values():
            await db.dispose()
    small, large = (statistics.median(timings[t]) for t in urls)
    print(f"ratio {args.large:,} / {args.small:,}: {large / small:.2f} (target <= 1.5)")


def _database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from leadflood.db import embedded, migrate

    work = Path(tempfile.mkdtemp(prefix="lf-bench-scheduler-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own system user
    url = os.environ.get("DATABASE_URL")
    if not url:
        _, url = embedded.start(work / "data")
    urls = {}
    for total in (args.small, args.large):
        urls[total] = _database(url, f"bench_scheduler_{total}")
        migrate.upgrade(urls[total])
    asyncio.run(run(urls, args, work / "data"))


if __name__ == "__main__":
    main()
