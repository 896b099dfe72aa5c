"""The leads list at scale: every filter and sort the API and UI offer, on a workspace of N leads
(100k by default) next to another workspace of the same size.

For each query it prints the plan's access path (which index, or a sequential scan), the
median time of the first page and of a page deep in the list (cursor after 90% of the rows),
and the ratio to the baseline measured in the same run: a bare index-only scan of
`(workspace_id, created_at, id)` returning 50 ids, the floor of any page of this table.

Then the search (`q`) for several kinds of terms (a rare email prefix, a common first name, two
words, company prefixes, a domain, a title word, one letter, no match): p50 and p95 of 40 runs
through the app and of the same SQL through psycopg, the plan's access path and the matches.

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

RUNS = 40
WORKSPACE = "INSERT INTO workspaces (id, name, slug) VALUES (%(ws)s, 'Bench', %(slug)s)"
FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
         "Tim", "John", "Mary", "James", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
         "William", "Elizabeth", "David", "Susan", "Richard", "Jessica", "Joseph", "Sarah",
         "Thomas", "Karen", "Charles", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
         "Sandra", "Mark", "Ashley", "Donald", "Emily", "Steven", "Donna", "Paul", "Michelle",
         "Andrew", "Carol", "Joshua", "Amanda", "Kevin", "Melissa"]  # fmt: skip
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
        "Allen", "Berners-Lee", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia",
        "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson",
        "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "White", "Harris",
        "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "O'Young"]  # fmt: skip
BRANDS = ["Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne",
          "Acme", "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Gringotts", "Monarch", "Oscorp",
          "Aperture", "Massive", "Dunder", "Prestige"]  # fmt: skip
TITLES = ["VP Sales", "Head of Growth", "CTO", "Account Executive", "Founder & CEO", "SDR"]
# Lead g: one of 50 first names (2% each) and 40 last names; company k = g % 5000 (200 leads
# each) named like "Globex121 Analytics", domain c121.com; an email of its own.
SEED = """
INSERT INTO leads (id, workspace_id, email, first_name, last_name, title, company_name,
                   company_domain, source, status, verification_status, score, created_at,
                   updated_at, custom_fields, score_breakdown, verification_evidence)
SELECT gen_random_uuid(), %(ws)s,
       lower(f.first || '.' || replace(f.last, '''', '')) || g || '@c' || (g %% 5000) || '.com',
       f.first, f.last, (%(titles)s::text[])[1 + g %% 6],
       (%(brands)s::text[])[1 + (g %% 5000) %% 20] || (g %% 5000) || ' '
         || (ARRAY['Labs','Systems','Analytics','Partners','Group','Inc.'])[1 + (g %% 5000) %% 6],
       'c' || (g %% 5000) || '.com', 'import',
       (ARRAY['new','enriched','enriched','enriched','failed'])[1 + g %% 5],
       (ARRAY['unverified','valid','valid','risky','invalid','unknown'])[1 + g %% 6],
       CASE WHEN g %% 4 = 0 THEN NULL ELSE (g::bigint * 7919) %% 101 END,
       now() - (g || ' seconds')::interval, now(), '{}', '[]', '{}'
FROM generate_series(1, %(rows)s) AS g,
     LATERAL (SELECT (%(first)s::text[])[1 + g %% 50] AS first,
                     (%(last)s::text[])[1 + (g / 50) %% 40] AS last) AS f;
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
            conn.execute(
                SEED,
                {"ws": w, "rows": rows, "first": FIRST, "last": LAST, "brands": BRANDS,
                 "titles": TITLES},
            )  # fmt: skip
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

    # The search (`q`, the top bar's box): several kinds of terms, each timed RUNS times through
    # the app (list_page, full ORM rows, a pooled session) and as the same SQL through psycopg.
    g = rows * 3 // 7
    local = (FIRST[g % 50] + "." + LAST[(g // 50) % 40].replace("'", "")).lower() + f"{g}@"
    searches = [
        ("email prefix (rare)", local),
        ("first name (2%)", "grace"),
        ("first + last prefix", "grace hop"),
        ("company prefix (~0.1%)", "globex12"),
        ("company prefix (~1%)", "globex1"),
        ("email domain", "c1234.com"),
        ("@domain", "@c1234.com"),
        ("title word (17%)", "founder"),
        ("one letter", "m"),
        ("no match", "zzzqx"),
    ]

    def literal(statement: Any) -> str:
        return str(
            statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )

    print(f"\nsearch (q), newest first, 50 rows; p50/p95 of {RUNS} runs each")
    print(
        f"{'term':<34} {'app p50':>8} {'app p95':>8} {'sql p50':>8} {'sql p95':>8} "
        f"{'matches':>8}  plan"
    )
    for label, term in searches:
        where = LeadFilter(q=term)
        for _ in range(2):  # warm the pool and the cache
            await timed(where, "newest", None)
        app = [(await timed(where, "newest", None))[0] for _ in range(RUNS)]
        query = queries.filtered(select(Lead).where(Lead.workspace_id == ws), where)
        sql = literal(query.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(51))
        bare = []
        with psycopg.connect(url) as conn:
            for _ in range(2 + RUNS):
                t0 = time.perf_counter()
                conn.execute(sql).fetchall()
                bare.append((time.perf_counter() - t0) * 1000)
            plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()[0][0]["Plan"]
            count = conn.execute(literal(select(func.count()).select_from(query.subquery())))
            matches = count.fetchone()[0]
        bare = bare[2:]
        print(
            f"{label + ' ' + repr(term):<34} {_p(app, 50):>6.1f}ms {_p(app, 95):>6.1f}ms "
            f"{_p(bare, 50):>6.1f}ms {_p(bare, 95):>6.1f}ms {matches:>8,}  {_access(plan, 200)}"
        )
    await db.dispose()
    if server is not None:
        server.cleanup()


def _p(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _access(plan: dict[str, Any], width: int = 48) -> str:
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.append(f"{node['Node Type'].replace(' Scan', '')} {node['Index Name']}")
        elif node["Node Type"] == "Seq Scan":
            found.append("Seq Scan")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return ", ".join(found)[:width] or json.dumps(plan["Node Type"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
