"""Asking for a search run: normalised parameters, one run per (ICP, source, params, day),
and the job that executes it (in `leads`, which owns what a run creates)."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.auth import credentials
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.errors import NotFound
from leadflood.icps import criteria as vocab
from leadflood.icps.service import IcpNotFound
from leadflood.models import Icp, SearchOutcome, SearchResult, SearchRun, SearchRunState
from leadflood.pagination import Window, newest_first, page_of
from leadflood.providers.base import LeadQuery, LeadSource
from leadflood.providers.registry import ProviderRegistry
from leadflood.searches.schemas import SearchRequest, SearchRunRead

SEARCH_TASK = "leads.search_run"
PER_PAGE = 100
QUERY_FIELDS = (*vocab.SCORED, "exclude_domains")


class SearchRunNotFound(NotFound):
    code = "search_run_not_found"
    message = "No search run with this id for this ICP."


def normalised_params(icp: Icp, *, max_results: int) -> dict[str, Any]:
    """The provider-neutral query of an ICP, in a canonical form: regions expanded, values
    sorted case-insensitively, existing customers folded into the excluded domains. Two ICPs
    that mean the same search get the same params (and hash)."""
    criteria = icp.criteria
    query: dict[str, list[str]] = {}
    for name in QUERY_FIELDS:
        values = [v for v in criteria.get(name) or [] if isinstance(v, str) and v.strip()]
        if name == "countries":
            values = vocab.expand_regions(values)
        if name == "exclude_domains" and criteria.get("exclude_existing_customers"):
            values = values + list(criteria.get("customer_domains") or [])
        folded = {vocab.fold(v): v.strip() for v in values}
        query[name] = [folded[k] for k in sorted(folded)]
    return {"query": query, "max_results": max_results, "per_page": PER_PAGE}


def params_hash(source: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([source, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def query_from_params(params: dict[str, Any]) -> LeadQuery:
    query = params.get("query") or {}
    return LeadQuery(**{name: tuple(query.get(name) or ()) for name in QUERY_FIELDS})


async def lead_source(
    session: AsyncSession, providers: ProviderRegistry, workspace_id: uuid.UUID, name: str
) -> LeadSource:
    """The workspace's adapter for `name`: its own stored key first, then the process-wide
    one. Raises ProviderNotConfiguredError (503 provider_not_configured) without either."""
    key = await credentials.provider_key(session, providers, workspace_id, name)
    return providers.lead_source(name, api_key=key)


async def start(
    session: AsyncSession,
    providers: ProviderRegistry,
    workspace_id: uuid.UUID,
    icp_id: uuid.UUID,
    data: SearchRequest,
) -> tuple[SearchRun, bool]:
    """Queue a run, or answer today's identical one. Returns the run and True when it was
    answered as it is; a failed run is queued again (resuming after its last stored page)
    with a new job, and that counts as new."""
    icp = await get_scoped(session, Icp, workspace_id, icp_id, error=IcpNotFound)
    source = data.source or icp.source
    await lead_source(session, providers, workspace_id, source)
    params = normalised_params(icp, max_results=data.max_results)
    digest = params_hash(source, params)
    day = datetime.now(UTC).date()
    inserted = await session.scalar(
        insert(SearchRun)
        .values(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            icp_id=icp.id,
            source=source,
            params=params,
            params_hash=digest,
            run_day=day,
            state=SearchRunState.queued,
        )
        .on_conflict_do_nothing(constraint="uq_search_runs_workspace_icp_source_params_day")
        .returning(SearchRun.id)
    )
    run = await session.scalar(
        scoped(SearchRun, workspace_id)
        .where(
            SearchRun.icp_id == icp.id,
            SearchRun.source == source,
            SearchRun.params_hash == digest,
            SearchRun.run_day == day,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert run is not None
    if inserted is None and run.state != SearchRunState.failed:
        return run, True
    if inserted is None:
        run.state, run.error, run.finished_at = SearchRunState.queued, None, None
    run.job_id = await jobs.defer(
        session,
        SEARCH_TASK,
        workspace_id=workspace_id,
        subject_type="search_run",
        subject_id=run.id,
        run_id=str(run.id),
    )
    await session.flush()
    await session.refresh(run)
    return run, False


async def get_run(
    session: AsyncSession, workspace_id: uuid.UUID, icp_id: uuid.UUID, run_id: uuid.UUID
) -> SearchRun:
    run = await session.scalar(
        scoped(SearchRun, workspace_id).where(SearchRun.id == run_id, SearchRun.icp_id == icp_id)
    )
    if run is None:
        raise SearchRunNotFound()
    return run


async def list_runs(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    icp_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
) -> Window[SearchRun]:
    await get_scoped(session, Icp, workspace_id, icp_id, error=IcpNotFound)
    query = newest_first(
        scoped(SearchRun, workspace_id).where(SearchRun.icp_id == icp_id),
        SearchRun.created_at,
        SearchRun.id,
        cursor=cursor,
        limit=limit,
    )
    return page_of(list((await session.scalars(query)).all()), limit, cursor)


async def rejection_reasons(
    session: AsyncSession, workspace_id: uuid.UUID, run_id: uuid.UUID, *, limit: int = 3
) -> list[tuple[str, int]]:
    """The commonest reasons a run's results were rejected, with how many each."""
    count = func.count().label("n")
    rows = await session.execute(
        select(SearchResult.reason, count)
        .where(
            in_workspace(SearchResult, workspace_id),
            SearchResult.run_id == run_id,
            SearchResult.outcome == SearchOutcome.rejected,
        )
        .group_by(SearchResult.reason)
        .order_by(count.desc())
        .limit(limit)
    )
    return [(reason or "no reason given", int(n)) for reason, n in rows]


def expected_pages(run: SearchRun) -> int | None:
    if run.total_expected is None:
        return None
    per_page = int(run.params.get("per_page") or PER_PAGE)
    return max(1, math.ceil(run.total_expected / per_page)) if run.total_expected else 0


def progress(run: SearchRun) -> float:
    if run.state == SearchRunState.completed:
        return 1.0
    pages = expected_pages(run)
    if not pages:
        return 0.0
    return min(1.0, run.pages_done / pages)


def read(run: SearchRun) -> SearchRunRead:
    return SearchRunRead.model_validate(
        {
            **{
                name: getattr(run, name)
                for name in SearchRunRead.model_fields
                if hasattr(run, name)
            },
            "pages_expected": expected_pages(run),
            "progress": round(progress(run), 4),
        }
    )
