"""A sandbox search run against the bare provider calls it is made of.

In one run, for the same query and the same number of prospects (2,000 by default):
  1. baseline: page through `SandboxLeadSource.search` alone (the provider side, nothing
     stored): the floor of any search run;
  2. the real run (`leads.search_runs.execute`, what the `leads.search_run` job does): every
     page stored in its own transaction with its raw payloads, companies and leads upserted
     set-based, every lead scored;
  3. the same run again with a larger limit on a workspace that already holds those leads (the
     dedupe path: existing leads matched by lower(email) and LinkedIn profile).
Prints prospects/s for each and the ratios to the baseline.

    python bench/search_run.py [--prospects 2000]

Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path


async def main(prospects: int) -> None:
    from leadflood.auth import service as accounts
    from leadflood.db import embedded, migrate
    from leadflood.db.engine import connect
    from leadflood.icps import service as icps
    from leadflood.icps.schemas import IcpCreate
    from leadflood.models import SearchRun
    from leadflood.providers.sandbox.source import SandboxLeadSource
    from leadflood.runtime import Runtime
    from leadflood.searches import runner as search_runs
    from leadflood.searches import service as searches
    from leadflood.searches.schemas import SearchRequest
    from leadflood.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="lf-bench-search-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own system user
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        server, url = embedded.start(work / "data")
    migrate.upgrade(url)
    settings = load_settings(data_dir=work, database_url=url, secret_key="b" * 48)
    runtime = Runtime(settings, connect(settings, url=url, server=server))
    criteria = {"departments": ["sales", "marketing"], "countries": ["US", "GB", "DE", "FR"]}

    async with runtime.db.session() as session:
        workspace = await accounts.create_workspace(session, name="Bench")
        icp = await icps.create(
            session,
            workspace.id,
            IcpCreate.model_validate({"name": "Bench", "criteria": criteria}),
        )
    query = searches.query_from_params(searches.normalised_params(icp, max_results=prospects))

    source = SandboxLeadSource()
    await source.search(query, page=1, per_page=searches.PER_PAGE)  # warm the match cache
    started = time.perf_counter()
    fetched, page = 0, 1
    while fetched < prospects:
        result = await source.search(query, page=page, per_page=searches.PER_PAGE)
        fetched += len(result.prospects)
        page += 1
        if not result.has_more:
            break
    baseline = time.perf_counter() - started

    async def timed_run(limit: int) -> tuple[float, SearchRun]:
        async with runtime.db.session() as session:
            run, _ = await searches.start(
                session, runtime.providers, workspace.id, icp.id,
                SearchRequest(max_results=limit),
            )  # fmt: skip
        began = time.perf_counter()
        await search_runs.execute(runtime, run.id)
        elapsed = time.perf_counter() - began
        async with runtime.db.session() as session:
            done = await session.get(SearchRun, run.id)
            assert done is not None
            return elapsed, done

    first_time, first = await timed_run(prospects)
    again_time, again = await timed_run(prospects + 100)
    await runtime.aclose()

    def line(name: str, count: int, seconds: float) -> None:
        rate = count / seconds
        print(f"{name:<44} {count:>6} prospects {seconds * 1000:>9.1f} ms {rate:>10,.0f}/s"
              f"   ratio {baseline / fetched * count / seconds:>5.3f}")  # fmt: skip

    print(f"sandbox query: {fetched} prospects fetched in {page - 1} pages")
    line("baseline: provider pages only", fetched, baseline)
    line("search run (store + upsert + score)", first.found, first_time)
    line("repeat run, leads already there (dedupe)", again.found, again_time)
    print(
        f"first run: created {first.created}, duplicates {first.duplicates}, rejected "
        f"{first.rejected}; repeat: created {again.created}, updated {again.updated}, "
        f"duplicates {again.duplicates}, rejected {again.rejected}"
    )
    assert first.found == first.created + first.updated + first.duplicates + first.rejected
    assert again.found == again.created + again.updated + again.duplicates + again.rejected


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int, default=2000)
    asyncio.run(main(parser.parse_args().prospects))
