from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from leadflood.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.icps import searches
from leadflood.icps import service as icps
from leadflood.icps.schemas import (
    IcpCreate,
    IcpRead,
    IcpUpdate,
    SearchRequest,
    SearchRunRead,
    SearchStarted,
)
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page

router = APIRouter(prefix="/v1/icps", tags=["icps"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post("", status_code=201, response_model=IcpRead)
async def create_icp(data: IcpCreate, session: SessionDep, member: MemberDep) -> IcpRead:
    return IcpRead.model_validate(await icps.create(session, member.workspace_id, data))


@router.get("", response_model=Page[IcpRead])
async def list_icps(
    session: SessionDep,
    member: ViewerDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[IcpRead]:
    page = await icps.list_page(session, member.workspace_id, limit=limit, cursor=cursor)
    return Page[IcpRead].of(page, IcpRead.model_validate)


@router.get("/{icp_id}", response_model=IcpRead)
async def get_icp(icp_id: uuid.UUID, session: SessionDep, member: ViewerDep) -> IcpRead:
    return IcpRead.model_validate(await icps.get(session, member.workspace_id, icp_id))


@router.patch("/{icp_id}", response_model=IcpRead)
async def update_icp(
    icp_id: uuid.UUID, data: IcpUpdate, session: SessionDep, member: MemberDep
) -> IcpRead:
    """Changing criteria or weights rescores the ICP's leads in the background."""
    icp, _ = await icps.update_icp(session, member.workspace_id, icp_id, data)
    return IcpRead.model_validate(icp)


@router.delete("/{icp_id}", status_code=204)
async def delete_icp(icp_id: uuid.UUID, session: SessionDep, member: MemberDep) -> Response:
    await icps.delete(session, member.workspace_id, icp_id)
    return Response(status_code=204)


@router.post(
    "/{icp_id}/search",
    status_code=202,
    response_model=SearchStarted,
    responses={200: {"model": SearchStarted, "description": "Today's identical run"}},
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
