"""CSV import against a bare COPY of the same file.

Generates an Apollo-like export (1M rows by default; 5% rows repeating an earlier person with a
differently cased email, 2% with a broken email, a share of rows with a mobile phone), then in
one run:
  1. baseline: `COPY scratch FROM STDIN (FORMAT csv, HEADER)` of the file into a table of text
     columns with no index: the physical floor of getting these bytes into PostgreSQL;
  2. the real import path (`importing.create_from_path` + `import_pipeline.run`, exactly what
     `leadflood leads import` runs): detection, mapping, validation in worker processes, dedupe,
     companies, leads with every index of the leads table, rejected rows, per-chunk commits;
  3. a second baseline, the floor of the leads table itself: the leads the import created,
     inserted again (into another workspace, one `INSERT … SELECT`, rolled back) with every
     index and foreign key of `leads` but no parsing, validation, dedupe or client.
Prints rows/s for each, the ratios, and the peak RSS of the importing process and of its worker
processes (sampled), then checks the accounting identity.

    python bench/import_csv.py [--rows 1000000] [--phones 0.3] [--workers 0]

Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg

HEADER = [
    "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
    "Seniority", "Departments", "Mobile Phone", "# Employees", "Industry",
    "Person Linkedin Url", "Website", "City", "Country",
]  # fmt: skip
FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Tim"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie"]
TITLES = ["VP Sales", "Head of Growth", "CTO", "Account Executive", "Founder & CEO", "SDR"]
COUNTRIES = [
    ("United States", "+1 415 555 {:04d}"),
    ("Germany", "+49 30 901820{:02d}"),
    ("France", "+33 1 42 68 {:02d} {:02d}"),
    ("United Kingdom", "+44 20 7946 {:04d}"),
]


def phone_for(template: str, n: int) -> str:
    if template.count("{") == 2:
        return template.format(n % 100, (n // 100) % 100)
    width = 4 if "{:04d}" in template else 2
    return template.format(n % (10**width))


def generate(path: Path, rows: int, *, phones: float, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    duplicates = invalid = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            person = i
            roll = rng.random()
            if roll < 0.05 and i > 100:
                person = rng.randrange(i - 100)  # someone already in the file
                duplicates += 1
            first, last = FIRST[person % len(FIRST)], LAST[person % len(LAST)]
            company = person % 20_000
            domain = f"company{company}.com"
            email = f"{first.lower()}.{last.lower()}{person}@{domain}"
            if person != i:
                email = email.upper()
            elif 0.05 <= roll < 0.07:
                email = email.replace("@", "@@")
                invalid += 1
            country, template = COUNTRIES[person % len(COUNTRIES)]
            phone = phone_for(template, person) if rng.random() < phones else ""
            writer.writerow(
                [first, last, TITLES[person % len(TITLES)], f"Company {company} Inc.",
                 f"Company {company}", email, "VP", "Sales", phone, str(10 + company % 5000),
                 "Software", f"https://www.linkedin.com/in/{first.lower()}-{person}",
                 f"https://www.{domain}", "Springfield", country]
            )  # fmt: skip
    return {"duplicates": duplicates, "invalid": invalid}


class RssSampler(threading.Thread):
    """Peak resident memory of the largest child, of all children together, and of this process
    plus all its children at the same instant (PostgreSQL's processes are not counted)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.child_peak = 0
        self.children_sum_peak = 0
        self.total_peak = 0
        self.total_pss_peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            sizes, shares = [], []
            for child in self.me.children(recursive=True):
                try:
                    if "postgres" not in child.name():
                        memory = child.memory_full_info()
                        sizes.append(memory.rss)
                        shares.append(memory.pss)
                except psutil.Error:
                    continue
            if sizes:
                self.child_peak = max(self.child_peak, max(sizes))
                self.children_sum_peak = max(self.children_sum_peak, sum(sizes))
            mine = self.me.memory_full_info()
            self.total_peak = max(self.total_peak, mine.rss + sum(sizes))
            # PSS splits pages shared after fork (forkserver -> workers) between the processes.
            self.total_pss_peak = max(self.total_pss_peak, mine.pss + sum(shares))


def bare_copy(url: str, path: Path) -> float:
    columns = ", ".join(f'"{name}" text' for name in HEADER)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_scratch")
        conn.execute(f"CREATE TABLE bench_scratch ({columns})")
        started = time.perf_counter()
        statement = "COPY bench_scratch FROM STDIN (FORMAT csv, HEADER true)"
        with (
            conn.transaction(),
            conn.cursor() as cursor,
            cursor.copy(statement) as copy,
            path.open("rb") as source,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_scratch")
    return elapsed


LEAD_COLUMNS = (
    "email, first_name, last_name, title, seniority, department, phone, linkedin_url, "
    "company_name, company_domain, company_industry, company_size, city, country, timezone, "
    "custom_fields, company_id, source, status"
)


def table_floor(url: str) -> tuple[int, float]:
    """Re-inserts the imported leads into a new workspace of the same table, in a transaction
    that is rolled back. New ids keep the import's ascending (UUIDv7) order, as its own do."""
    with psycopg.connect(url) as conn:
        source = conn.execute("SELECT id FROM workspaces ORDER BY created_at DESC LIMIT 1")
        workspace = source.fetchone()
        assert workspace is not None
        target = conn.execute(
            "INSERT INTO workspaces (id, name, slug) VALUES (gen_random_uuid(), 'floor', "
            "'floor-' || md5(random()::text)) RETURNING id"
        ).fetchone()
        assert target is not None
        conn.commit()
        started = time.perf_counter()
        inserted = conn.execute(
            f"INSERT INTO leads (id, workspace_id, {LEAD_COLUMNS}) "
            f"SELECT ('f' || substr(id::text, 2))::uuid, %s, {LEAD_COLUMNS} "
            "FROM leads WHERE workspace_id = %s ORDER BY id",
            (target[0], workspace[0]),
        ).rowcount
        elapsed = time.perf_counter() - started
        conn.rollback()
        conn.execute("DELETE FROM workspaces WHERE id = %s", (target[0],))
        conn.commit()
    return inserted, elapsed


async def real_import(url: str, data_dir: Path, path: Path, workers: int) -> tuple[object, float]:
    from leadflood.auth import service as accounts
    from leadflood.db.engine import connect
    from leadflood.imports import pipeline as import_pipeline
    from leadflood.imports import service as importing
    from leadflood.settings import load_settings

    settings = load_settings(
        data_dir=data_dir, database_url=url, log_level="warning", import_workers=workers
    )
    db = connect(settings, url=url)
    try:
        async with db.session() as session:
            workspace = await accounts.create_workspace(session, name=f"Bench {time.time_ns()}")
        started = time.perf_counter()
        async with db.session() as session:
            imp = await importing.create_from_path(session, settings, workspace.id, path)
        done = await import_pipeline.run(db, settings, imp.id)
        return done, time.perf_counter() - started
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phones", type=float, default=0.3, help="share of rows with a phone")
    parser.add_argument(
        "--workers", type=int, default=0, help="validation processes (0: half the cores)"
    )
    args = parser.parse_args()

    from leadflood.db import embedded, migrate

    work = Path(tempfile.mkdtemp(prefix="lf-bench-import-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own system user
    path = work / "leads.csv"
    t = time.perf_counter()
    made = generate(path, args.rows, phones=args.phones)
    size_mb = path.stat().st_size / 1e6
    out = sys.stdout.write
    out(
        f"generated {args.rows:,} rows ({size_mb:.0f} MB; {made['duplicates']:,} repeats, "
        f"{made['invalid']:,} broken emails, {args.phones:.0%} with a phone) "
        f"in {time.perf_counter() - t:.1f}s\n"
    )
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        server, url = embedded.start(work / "data")
    migrate.upgrade(url)

    copy_s = bare_copy(url, path)
    sampler = RssSampler()
    sampler.start()
    done, import_s = asyncio.run(real_import(url, work / "data", path, args.workers))
    sampler.stop.set()
    sampler.join()
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    copy_rate, import_rate = args.rows / copy_s, args.rows / import_s
    out(f"bare COPY : {copy_s:7.1f}s  {copy_rate:>9,.0f} rows/s\n")
    out(f"import    : {import_s:7.1f}s  {import_rate:>9,.0f} rows/s\n")
    out(f"ratio     : {import_rate / copy_rate:.3f}  (target >= 0.35)\n")
    floor_rows, floor_s = table_floor(url)
    floor_rate = floor_rows / floor_s
    out(
        f"leads table floor: {floor_s:7.1f}s  {floor_rate:>9,.0f} rows/s "
        f"({floor_rows:,} leads re-inserted; {floor_rate / copy_rate:.3f} of bare COPY)\n"
    )
    share = import_rate / floor_rate
    verdict = "met" if share >= 0.75 else "NOT met"
    out(f"import / leads table floor: {share:.3f}  (target >= 0.75: {verdict})\n")
    out(
        f"peak RSS  : importing process {rss_self:.0f} MB (target < 300 MB); largest worker "
        f"{sampler.child_peak / 2**20:.0f} MB; all workers together "
        f"{sampler.children_sum_peak / 2**20:.0f} MB; importing process and workers together "
        f"{sampler.total_peak / 2**20:.0f} MB RSS, {sampler.total_pss_peak / 2**20:.0f} MB PSS\n"
    )
    counts = {
        k: getattr(done, k) for k in ("rows_read", "created", "updated", "skipped", "rejected")
    }
    out(f"accounting: {counts}\n")
    total = done.created + done.updated + done.skipped + done.rejected  # type: ignore[attr-defined]
    assert done.rows_read == args.rows == total, counts  # type: ignore[attr-defined]
    if server is not None:
        server.cleanup()


if __name__ == "__main__":
    main()
