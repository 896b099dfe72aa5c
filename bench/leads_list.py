"""The leads list at scale: every filter and sort the API and UI offer, on a workspace of N leads
(100k by default) next to another workspace of the same size.

For each query it prints the plan's access path (which index, or a sequential scan), the
median time of the first page and of a page deep in the list (cursor after 90% of the rows),
and the ratio to the baseline measured in the same run: a bare index-only scan of
`(workspace_id, created_at, id)` returning 50 ids, the floor of any page of this table.

    python bench/leads_list.py [--rows 100000]

Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

WORKSPACE = "INSERT INTO workspaces (id, name, slug) VALUES (%(ws)s, 'Bench', %(slug)s)"
SEED = """
INSERT INTO leads (id, workspace_id, email, first_name, last_name, company_name, company_domain,
                   source, status, verification_status, score, created_at, updated_at,
                   custom_fields, score_breakdown, verification_evidence)
SELECT gen_random_uuid(), %(ws)s, 'p' || g || '@c' || (g %% 5000) || '.com', 'First' || g,
       'Last' || g, 'Company ' || (g %% 5000), 'c' || (g %% 5000) || '.com', 'import',
       (ARRAY['new','enriched','enriched','enriched','failed'])[1 + g %% 5],
       (ARRAY['unverified','valid','valid','risky','invalid','unknown'])[1 + g %% 6],
       CASE WHEN g %% 4 = 0 THEN NULL ELSE (g::bigint * 7919) %% 101 END,
       now() - (g || ' seconds')::interval, now(), '{}', '[]', '{}'
FROM generate_series(1, %(rows)s) AS g;
"""


async def main(rows: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from sqlalchemy import func, select, text
    from sqlalchemy.dialects import postgresql

    from leadflood.db import embedded, migrate
    from leadflood.db.engine import connect
    from leadflood.leads import queries
    from leadflood.leads.schemas import LeadFilter
    from leadflood.models import Lead
    from leadflood.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="lf-bench-list-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own system user
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        server, url = embedded.start(work / "data")
    migrate.upgrade(url)
    ws, other = uuid.uuid4(), uuid.uuid4()
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for w in (ws, other):
            conn.execute(WORKSPACE, {"ws": w, "slug": f"b-{w.hex[:8]}"})
            conn.execute(SEED, {"ws": w, "rows": rows})
        conn.execute("ANALYZE leads")
    print(f"seeded {2 * rows:,} leads in 2 workspaces in {time.perf_counter() - started:.1f}s")

    settings = load_settings(database_url=url, data_dir=work, log_level="error")
    db = connect(settings, url=url)
    domain = "c1234.com"
    cases: list[tuple[str, LeadFilter, str]] = [
        ("newest", LeadFilter(), "newest"),
        ("oldest", LeadFilter(), "oldest"),
        ("score desc", LeadFilter(), "score"),
        ("status=failed", LeadFilter(status="failed"), "newest"),
        ("verification=risky", LeadFilter(verification="risky"), "newest"),
        ("score 80-100, by score", LeadFilter(score_min=80), "score"),
        ("score 80-100, newest", LeadFilter(score_min=80), "newest"),
        ("company_domain", LeadFilter(company_domain=domain), "newest"),
        ("q=First4242 (scan)", LeadFilter(q="First4242"), "newest"),
    ]

    async def timed(where: LeadFilter, sort: str, cursor: str | None) -> tuple[float, Any]:
        async with db.sessions() as session:
            t0 = time.perf_counter()
            page = await queries.list_page(
                session,
                ws,
                where,
                sort=sort,
                limit=50,
                cursor=cursor,  # type: ignore[arg-type]
            )
            return (time.perf_counter() - t0) * 1000, page

    async def median(where: LeadFilter, sort: str, cursor: str | None) -> float:
        return statistics.median([(await timed(where, sort, cursor))[0] for _ in range(7)])

    async def deep_cursor(where: LeadFilter, sort: str, total: int) -> str | None:
        """The cursor of the row 90% down the list (found once with OFFSET, outside timing)."""
        order = {
            "newest": "created_at DESC, id DESC",
            "oldest": "created_at, id",
            "score": "score DESC NULLS LAST, id DESC",
        }[sort]
        base = queries.filtered(
            select(Lead.created_at, Lead.id, Lead.score).where(Lead.workspace_id == ws), where
        )
        async with db.sessions() as session:
            row = (
                await session.execute(base.order_by(text(order)).offset(int(total * 0.9)).limit(1))
            ).first()
        if row is None:
            return None
        if sort == "score":
            return queries._encode(["s", row.score, str(row.id)], False)
        return queries._encode(["c", row.created_at.isoformat(), str(row.id)], False)

    with psycopg.connect(url) as conn:
        t = []
        for _ in range(7):
            t0 = time.perf_counter()
            conn.execute(
                "SELECT id FROM leads WHERE workspace_id = %s ORDER BY created_at DESC, id DESC "
                "LIMIT 50",
                (ws,),
            ).fetchall()
            t.append((time.perf_counter() - t0) * 1000)
        baseline = statistics.median(t)
    print(f"baseline (bare index scan, 50 ids): {baseline:.2f} ms\n")
    print(f"{'query':<26} {'plan':<48} {'page 1':>8} {'deep':>8} {'ratio':>7} {'rows':>8}")

    for label, where, sort in cases:
        async with db.sessions() as session:
            total = int(
                await session.scalar(
                    select(func.count()).select_from(
                        queries.filtered(
                            select(Lead.id).where(Lead.workspace_id == ws), where
                        ).subquery()
                    )
                )
                or 0
            )
        first = await median(where, sort, None)
        cursor = await deep_cursor(where, sort, total)
        deep = await median(where, sort, cursor) if cursor else float("nan")
        query = queries.filtered(select(Lead).where(Lead.workspace_id == ws), where)
        if sort == "score":
            query = query.where(Lead.score.is_not(None)).order_by(Lead.score.desc(), Lead.id.desc())
        else:
            key = Lead.created_at
            query = (
                query.order_by(key.desc(), Lead.id.desc())
                if sort == "newest"
                else (query.order_by(key, Lead.id))
            )
        sql = str(
            query.limit(51).compile(
                dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
            )
        )
        with psycopg.connect(url) as conn:
            plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()[0][0]["Plan"]
        print(
            f"{label:<26} {_access(plan):<48} {first:>6.2f}ms {deep:>6.2f}ms "
            f"{max(first, deep) / baseline:>6.1f}x {total:>8,}"
        )
    await db.dispose()
    if server is not None:
        server.cleanup()


def _access(plan: dict[str, Any]) -> str:
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.append(f"{node['Node Type'].replace(' Scan', '')} {node['Index Name']}")
        elif node["Node Type"] == "Seq Scan":
            found.append("Seq Scan")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return ", ".join(found)[:48] or json.dumps(plan["Node Type"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
