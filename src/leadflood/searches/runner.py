"""Executing a search run: page through the provider, store each page in its own transaction
(so progress shows while the run goes on and a crash loses at most the page in flight), and
resume after the last stored page when the job runs again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads import scoring
from leadflood.logging import get_logger
from leadflood.models import SearchOutcome, SearchRun, SearchRunState
from leadflood.providers.base import LeadSource, ProviderError
from leadflood.searches import service as searches
from leadflood.searches.store import store_page
from leadflood.system import breakers

log = get_logger("leadflood.searches.runner")


async def _claim(session: AsyncSession, run_id: uuid.UUID) -> SearchRun | None:
    run = await session.get(SearchRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.state in (SearchRunState.completed, SearchRunState.failed):
        return None
    if run.state == SearchRunState.queued:
        run.state = SearchRunState.running
        run.started_at = run.started_at or datetime.now(UTC)
    return run


async def execute(runtime: Any, run_id: uuid.UUID) -> SearchRunState | None:
    """Run (or resume) the search; provider errors propagate so the job can retry them."""
    db = runtime.db
    async with db.session() as session:
        run = await _claim(session, run_id)
        if run is None:
            return None
        source: LeadSource = await searches.lead_source(
            session, runtime.providers, run.workspace_id, run.source
        )
        params, page, found = run.params, run.pages_done + 1, run.found
        provider, account = run.source, str(run.workspace_id)
    policy = breakers.Policy.of(runtime.settings)
    query = searches.query_from_params(params)
    max_results = int(params.get("max_results") or 0)
    per_page = int(params.get("per_page") or searches.PER_PAGE)
    while True:
        if found >= max_results:
            async with db.session() as session:
                return await _finish(session, run_id, page - 1)
        # An open breaker raises BreakerOpen (temporary): the job retries after the cool-down.
        gate = await breakers.enter(db.engine, provider, account, policy)
        try:
            result = await source.search(query, page=page, per_page=per_page)
        except ProviderError as exc:
            await gate.failure(db.engine, exc)
            raise
        await gate.success(db.engine)
        prospects = result.prospects[: max_results - found]
        async with db.session() as session:
            run = await session.get(SearchRun, run_id, with_for_update=True, populate_existing=True)
            if run is None or run.state != SearchRunState.running or run.pages_done != page - 1:
                log.info("search_run.taken_over", run_id=str(run_id), page=page)
                return None
            counts, touched = await store_page(session, run, page, prospects)
            await scoring.rescore_leads(session, run.workspace_id, touched)
            run.found += len(prospects)
            run.created += counts[SearchOutcome.created]
            run.updated += counts[SearchOutcome.updated]
            run.duplicates += counts[SearchOutcome.duplicate]
            run.rejected += counts[SearchOutcome.rejected]
            run.pages_done = page
            run.error = None
            if result.total is not None:
                run.total_expected = min(result.total, max_results)
            found = run.found
            if not result.has_more or not result.prospects or found >= max_results:
                return _complete(run)
        page += 1


def _complete(run: SearchRun) -> SearchRunState:
    run.state = SearchRunState.completed
    run.finished_at = datetime.now(UTC)
    run.total_expected = run.found
    return run.state


async def _finish(session: AsyncSession, run_id: uuid.UUID, pages: int) -> SearchRunState | None:
    run = await session.get(SearchRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.state != SearchRunState.running or run.pages_done != pages:
        return None
    return _complete(run)


async def note_error(session: AsyncSession, run_id: uuid.UUID, error: str, *, final: bool) -> None:
    """Keep why the last attempt failed on the run; a final failure ends it."""
    run = await session.get(SearchRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.state == SearchRunState.completed:
        return
    run.error = error[:2000]
    if final:
        run.state = SearchRunState.failed
        run.finished_at = datetime.now(UTC)
