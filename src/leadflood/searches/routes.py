from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.searches import service as searches
from leadflood.searches.schemas import SearchRequest, SearchRunRead, SearchStarted
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

# Search runs of an ICP, under the ICP's own paths.
router = APIRouter(prefix="/v1/icps", tags=["icps"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/{icp_id}/search",
    status_code=202,
    response_model=SearchStarted,
    responses={200: {"model": SearchStarted, "description": "Today's identical run"}},
    dependencies=[Idempotent],
)
async def start_search(
    icp_id: uuid.UUID,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
    response: Response,
    data: SearchRequest | None = None,
) -> SearchStarted:
    """Queue a search of the ICP's source. The same ICP, source and parameters on the same day
    answer the existing run (200) instead of starting another; a failed one is queued again."""
    run, existing = await searches.start(
        session, runtime.providers, member.workspace_id, icp_id, data or SearchRequest()
    )
    if existing:
        response.status_code = 200
    return SearchStarted(run_id=run.id, job_id=run.job_id, state=run.state, existing=existing)


@router.get("/{icp_id}/search-runs", response_model=Page[SearchRunRead])
async def list_search_runs(
    icp_id: uuid.UUID,
    session: SessionDep,
    member: ViewerDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[SearchRunRead]:
    page = await searches.list_runs(
        session, member.workspace_id, icp_id, limit=limit, cursor=cursor
    )
    return Page[SearchRunRead].of(page, searches.read)


@router.get("/{icp_id}/search-runs/{run_id}", response_model=SearchRunRead)
async def get_search_run(
    icp_id: uuid.UUID, run_id: uuid.UUID, session: SessionDep, member: ViewerDep
) -> SearchRunRead:
    return searches.read(await searches.get_run(session, member.workspace_id, icp_id, run_id))


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
