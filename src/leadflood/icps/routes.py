from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from leadflood.icps import service as icps
from leadflood.icps.schemas import IcpCreate, IcpRead, IcpUpdate
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import MemberDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/icps", tags=["icps"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post("", status_code=201, response_model=IcpRead, dependencies=[Idempotent])
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


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
